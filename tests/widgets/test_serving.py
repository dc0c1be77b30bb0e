"""Voilà's kernel manager for the apps: a kernel whose page has not connected yet is not culled,
however long it idled in the pool; once its page connected and left, it is culled as usual."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt

from widgets.serving import PageKernelManager


def test_a_loading_page_keeps_its_kernel_and_a_closed_one_loses_it(tmp_path):
    async def scenario() -> tuple[bool, bool, bool]:
        km = PageKernelManager(cull_idle_timeout=60, cull_interval=15, root_dir=str(tmp_path))
        kid = await km.start_kernel(kernel_name="python3")
        try:
            long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)
            km.get_kernel(kid).last_activity = long_ago  # idled in the pool far longer than the timeout
            km.get_kernel(kid).execution_state = "idle"
            await km.cull_kernel_if_idle(kid)  # the page took it and is still loading
            kept_while_loading = kid in km
            km.notify_connect(kid)  # the page connected ...
            km.notify_disconnect(kid)  # ... and was closed
            km.get_kernel(kid).last_activity = long_ago
            await km.cull_kernel_if_idle(kid)
            for _ in range(50):
                if kid not in km:
                    break
                await asyncio.sleep(0.1)
            return kept_while_loading, kid not in km, not km._waiting_since
        finally:
            if kid in km:
                await km.shutdown_kernel(kid, now=True)

    # a loop of its own in a thread of its own: the browser tests' Playwright keeps an event loop
    # running in the main thread for the whole session
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        kept, culled, forgotten = pool.submit(asyncio.run, scenario()).result(timeout=300)
    assert kept, "the kernel of a page that has not connected yet was culled"
    assert culled, "a closed page's idle kernel was not culled"
    assert forgotten
