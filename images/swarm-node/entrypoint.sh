#!/bin/sh
# Start sshd (keys from $AUTHORIZED_KEY), then dockerd in the foreground. dockerd is only
# started by `nodes add` over SSH when the node was started with NO_ENGINE=1 (to rehearse a
# host whose engine must be installed/started by the bootstrap).
set -e
mkdir -p /run/sshd && chmod 755 /run/sshd
ssh-keygen -A >/dev/null 2>&1
if [ -n "$AUTHORIZED_KEY" ]; then
    printf '%s\n' "$AUTHORIZED_KEY" > /root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
fi
/usr/sbin/sshd -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no
if [ "${NO_ENGINE:-0}" = "1" ]; then
    exec sleep infinity
fi
exec dockerd --host unix:///var/run/docker.sock ${DOCKERD_ARGS:-} >>/var/log/dockerd.log 2>&1
