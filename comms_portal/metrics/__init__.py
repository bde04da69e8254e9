"""Operators' metrics: counters summed in Redis by every process, read at scrape by ``/metrics``.

The portal runs as several ASGI processes and Celery workers, so counts kept in one process's
memory would not add up. Each count is an ``HINCRBY`` on a few Redis hashes (``counters``),
sent with a command the code sends anyway where there is one, and otherwise gathered in the
process and flushed every few seconds. Gauges (the inbox, subscriptions, open sockets) are
read when Prometheus scrapes (``collector``); ``access`` decides who may scrape.
"""
