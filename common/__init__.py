"""Small pieces both the controller and the school agents use: time, files, secrets.

`datacenter` and `vm_agent` never import each other; what they share lives here.
"""
