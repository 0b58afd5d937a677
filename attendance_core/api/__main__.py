"""``python -m attendance_core.api``: the API as the hub's managed service (address from ``JUPYTERHUB_SERVICE_URL``)."""
from __future__ import annotations

import asyncio
import logging
import os
from urllib.parse import urlparse


async def _serve() -> None:
    from jupyterhub.services.auth import HubAuth

    from ..config import load_settings
    from ..records import Store
    from ..server.scrub import scrub_logs
    from .app import make_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    scrub_logs((os.environ.get("JUPYTERHUB_API_TOKEN", ""),))  # a ?token= in a logged address too
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/attendance-api/")
    app = make_app(Store.from_settings(load_settings()), HubAuth(), prefix)
    app.listen(url.port or 80, url.hostname or "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_serve())
