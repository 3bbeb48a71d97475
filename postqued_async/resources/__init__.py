"""The API's resource groups, each reached from the client: ``pq.content``..."""

from postqued_async.resources._accounts import AccountsResource
from postqued_async.resources._content import ContentResource, UploadResult
from postqued_async.resources._publish import PublishResource

__all__ = ["AccountsResource", "ContentResource", "PublishResource", "UploadResult"]
