"""The heart of channelsync: models, channel protocol, errors, ledger, outbox, engine, store.

``core`` never imports adapters, the sandbox or the command line.
"""
