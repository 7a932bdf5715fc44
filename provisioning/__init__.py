"""Runtimes that run school servers: local processes now, Docker and Swarm behind the same
interface. docker, fabric and paramiko are imported nowhere else."""
