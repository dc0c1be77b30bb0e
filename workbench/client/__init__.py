"""The client SDK: what notebooks, widgets and apps use. It never opens the store.

``connect()`` reaches a running service over HTTP. For tests and single-user embedded use,
``workbench.service.local.connect_local`` serves the same application in-process.
"""

from workbench.client._client import Client, connect
from workbench.client._transport import TOKEN_ENV, URL_ENV

__all__ = ["Client", "TOKEN_ENV", "URL_ENV", "connect"]
