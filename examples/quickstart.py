"""Upload a video, publish it to TikTok and wait for the result.

Runs against an embedded sandbox, so it needs no account and no key:

    python examples/quickstart.py
"""

import asyncio
from pathlib import Path

from postqued_async import PostQued, Target
from postqued_async.sandbox import Sandbox

MEDIA = Path(__file__).parent / "media"


async def main() -> None:
    async with (
        Sandbox() as sandbox,
        PostQued(sandbox.api_key, base_url=sandbox.url) as pq,
    ):
        video = await pq.content.upload(MEDIA / "launch-teaser.mp4")
        account = await pq.accounts.get("creator_one")
        target = Target.tiktok(account, "It's here! #launch", privacy_level="SELF_ONLY")
        publish = await pq.publish.create([video], [target])
        final = await pq.publish.wait(publish.id, poll_interval=0.5)
        print(final.status.value, [t.status.value for t in final.targets])


if __name__ == "__main__":
    asyncio.run(main())
