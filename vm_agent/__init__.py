"""The Serveur PRONOTE of one school: `python -m vm_agent --config agent.json`.

The same program runs in a local process, in a container, or in a swarm task (DESIGN decision 1).
"""
