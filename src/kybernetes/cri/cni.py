"""The node's CNI network config: a bridge for the node's pod CIDR(s).

One conflist (CNI spec 1.0.0) chaining the standard plugins from
containernetworking-plugins (``/usr/lib/cni`` on Debian):

* ``bridge``: a Linux bridge (``kyb0``) as the pods' gateway, one veth per pod, IPs from
  ``host-local`` IPAM over the pod CIDR(s), a default route per IP family;
  ``ipMasq`` SNATs pod traffic leaving the pod CIDR, ``hairpinMode`` lets a pod reach
  itself through a Service VIP;
* ``portmap``: ``hostPort``s (DNAT from the node's addresses, 127.0.0.1 included);
* ``loopback``: brings ``lo`` up. containerd's CRI already does that for every pod
  (go-cni's loopback network); in the chain it passes the previous result through, and
  it keeps the file complete for runtimes that do not.

containerd's CRI watches ``conf_dir`` and uses the first file by name
(``max_conf_num = 1``), so the file is written atomically and named ``10-kyb.conflist``.
The kubelet writes it once it knows the node's ``spec.podCIDR(s)``; until then the
runtime reports NetworkReady=false and only host-network pods can start.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CNI_VERSION = "1.0.0"
NETWORK_NAME = "kyb-pods"
BRIDGE = "kyb0"
CONFLIST_NAME = "10-kyb.conflist"


def cni_conflist(
    pod_cidrs: Sequence[str],
    *,
    ipam_dir: Path | str,
    bridge: str = BRIDGE,
    masquerade: bool = True,
    name: str = NETWORK_NAME,
    mtu: int | None = None,
) -> dict[str, Any]:
    """The conflist for ``pod_cidrs`` (one per IP family, e.g. ``["10.42.0.0/24"]``)."""
    networks = [ipaddress.ip_network(cidr, strict=True) for cidr in pod_cidrs]
    if not networks:
        raise ValueError("cni: at least one pod CIDR is needed")
    if len({n.version for n in networks}) != len(networks):
        raise ValueError(f"cni: at most one pod CIDR per IP family: {list(pod_cidrs)}")
    if not 1 <= len(bridge) <= 15:
        raise ValueError(f"cni: bridge name must be 1-15 characters: {bridge!r}")
    bridge_plugin: dict[str, Any] = {
        "type": "bridge",
        "bridge": bridge,
        "isGateway": True,
        "ipMasq": masquerade,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "dataDir": str(ipam_dir),
            "ranges": [[{"subnet": str(net)}] for net in networks],
            "routes": [{"dst": "0.0.0.0/0" if n.version == 4 else "::/0"} for n in networks],
        },
    }
    if mtu is not None:
        bridge_plugin["mtu"] = mtu
    return {
        "cniVersion": CNI_VERSION,
        "name": name,
        "plugins": [
            bridge_plugin,
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "loopback"},
        ],
    }


def write_cni_config(
    conf_dir: Path | str,
    pod_cidrs: Sequence[str],
    *,
    ipam_dir: Path | str,
    **options: Any,
) -> Path:
    """Write the conflist into ``conf_dir`` atomically; returns its path. Rewriting the
    same content leaves the file untouched (no spurious reload by the runtime)."""
    conf_dir = Path(conf_dir)
    conf_dir.mkdir(parents=True, exist_ok=True)
    Path(ipam_dir).mkdir(parents=True, exist_ok=True)
    text = json.dumps(cni_conflist(pod_cidrs, ipam_dir=ipam_dir, **options), indent=2) + "\n"
    path = conf_dir / CONFLIST_NAME
    if path.exists() and path.read_text() == text:
        return path
    tmp = conf_dir / f".{CONFLIST_NAME}.tmp"
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
