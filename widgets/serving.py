"""Voilà's kernel manager for the apps: a page's kernel is never culled while the page is loading.

Voilà keeps one pre-executed kernel per app and never culls it while it waits in the pool. A
page request takes it out of the pool; until the browser opens the kernel's websocket the
kernel has no connection, and its last activity is whenever it finished preheating, possibly
longer ago than the idle timeout. The culler would then shut it down under a loading page,
which hangs. Here a kernel that has not been connected yet is culled only after it has waited
a whole idle timeout outside the pool (Voilà skips pooled kernels, so a gap in the culler's
questions about a kernel means it sat in the pool and its wait starts anew); once its page connected, the usual rules apply (a closed
page's kernel is culled when idle, an open page's never).

Voilà picks it with ``--VoilaConfiguration.multi_kernel_manager_class=widgets.serving.PageKernelManager``.
"""

from __future__ import annotations

import time
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager


class PageKernelManager(AsyncMappingKernelManager):
    """Culls a kernel only after its page connected, or after it waited a whole idle timeout."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._connected_once: set[str] = set()
        self._waiting_since: dict[str, float] = {}
        self._asked: dict[str, float] = {}

    def notify_connect(self, kernel_id: str) -> None:
        """A page connected to the kernel: from now on it is culled like any other."""
        self._connected_once.add(kernel_id)
        self._waiting_since.pop(kernel_id, None)
        super().notify_connect(kernel_id)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Spare a kernel handed to a page that has not connected yet (Voilà spares pooled ones)."""
        now = time.monotonic()
        last, self._asked[kernel_id] = self._asked.get(kernel_id), now
        if kernel_id not in self._connected_once:
            if last is None or now - last > 1.5 * self.cull_interval:
                # new to us, or Voilà skipped it meanwhile because it sat in the pool: the page's wait starts now
                self._waiting_since[kernel_id] = now
            if now - self._waiting_since[kernel_id] < self.cull_idle_timeout:
                return
        await super().cull_kernel_if_idle(kernel_id)

    def remove_kernel(self, kernel_id: str) -> Any:
        """Forget a kernel that is gone."""
        self._connected_once.discard(kernel_id)
        self._waiting_since.pop(kernel_id, None)
        self._asked.pop(kernel_id, None)
        return super().remove_kernel(kernel_id)
