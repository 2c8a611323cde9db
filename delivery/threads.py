"""Threads a process keeps beside its main thread for the life of the process (the sending
pipeline's encryption and claim threads): one ``ThreadPoolExecutor`` of one thread per
process and name, made at first use, so a forked child (a Celery pool process) makes its
own rather than inheriting a parent's thread that does not exist in it."""

import concurrent.futures
import os
import threading

_pools = {}  # (process id, name) -> its thread
_lock = threading.Lock()


def process_thread(name):
    """This process's one thread called ``name`` (its threads are named ``name_0``)."""
    with _lock:
        key = (os.getpid(), name)
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=name)
        return pool
