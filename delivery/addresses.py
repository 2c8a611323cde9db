"""Which addresses the worker may connect to when a URL came from outside: Linked Content
(``delivery/linked.py``, a marketer's URL) and Web Push endpoints
(``delivery/providers/webpush/``, a browser's). One rule for both, so a range refused
for one is refused for the other.

Only public addresses: not private, loopback, link-local, multicast, reserved,
unspecified, shared (100.64/10) or a cloud metadata address. Tests exempt their
loopback services with ``allowed_networks`` (never the metadata addresses).
"""

import ipaddress

# Named so the message says what they are; all are already outside the global ranges.
METADATA = {
    ipaddress.ip_address(address): name
    for address, name in [
        ("169.254.169.254", "AWS / GCP / Azure / OpenStack"),
        ("fd00:ec2::254", "AWS (IPv6)"),
        ("169.254.170.2", "AWS ECS task"),
        ("100.100.100.200", "Alibaba Cloud"),
        ("192.0.0.192", "Oracle Cloud"),
    ]
}


def networks(cidrs):
    """The ``ip_network`` objects of a setting's CIDR strings."""
    return [ipaddress.ip_network(cidr) for cidr in cidrs]


def refusal(address, allowed_networks=()):
    """Why ``address`` may not be connected to, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if ip.version == 6 and ip.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = ip.ipv4_mapped
    if ip in METADATA:
        return f"a cloud metadata address ({METADATA[ip]})"
    if any(ip in network for network in allowed_networks):
        return None
    # Most specific first: Python counts link-local and reserved ranges as private too.
    for kind in ("loopback", "link_local", "multicast", "reserved", "unspecified", "private"):
        if getattr(ip, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    if not ip.is_global:
        return "not a public address"
    return None
