"""The ``postqued`` command line, and the campaign runner behind it.

``postqued campaign run campaign.csv`` checks a whole manifest, uploads its
media once each, publishes every post under an idempotency key of its own
and follows each to its final status. From Python::

    async with PostQued() as pq:
        report = await run_campaign("campaign.csv", pq)

Needs the ``cli`` extra (``pip install 'postqued-async[cli]'``) for rich.
"""

from postqued_async.cli._campaign import (
    CampaignObserver,
    CampaignReport,
    PostOutcome,
    PreviousPost,
    UploadOutcome,
    campaign_idempotency_key,
    read_previous_posts,
    run_campaign,
)
from postqued_async.cli._main import main
from postqued_async.cli._manifest import (
    CampaignPost,
    Manifest,
    ManifestError,
    ManifestProblem,
    read_manifest,
)

__all__ = [
    "CampaignObserver",
    "CampaignPost",
    "CampaignReport",
    "Manifest",
    "ManifestError",
    "ManifestProblem",
    "PostOutcome",
    "PreviousPost",
    "UploadOutcome",
    "campaign_idempotency_key",
    "main",
    "read_manifest",
    "read_previous_posts",
    "run_campaign",
]
