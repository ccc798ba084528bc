"""SMPP 3.4: codec, receipts, concatenation, session state machine, client, SMSC simulator.

``pdu``, ``receipts``, ``concat`` and ``session`` are pure (no I/O, no clock); ``client`` and
``smsc_sim`` are the thin asyncio layers on top.  Nothing here imports the database, the web
app or the services; the only project import is :mod:`smsstreams.domain.encoding`.
"""
