"""PRONOTE.net over HTTP: the espaces real PRONOTE clients (pronotepy, pawnote) log in to.

Wire protocol: docs/pronote-net/protocol.md. `app` is the aiohttp adapter; `page`,
`envelope`, `login` and the function modules are the protocol; rules are in vm_agent.domain.
"""
