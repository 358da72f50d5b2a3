//! Which IP addresses a back-channel logout may reach without the operator's say-so: plain
//! public unicast ones. Everything else (loopback, private networks, link-local, multicast,
//! documentation and reserved ranges, and IPv6 forms that embed such an IPv4 address) could
//! let a registered URI reach Sesame's own network, so it is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 blocks that are not public unicast (RFC 6890 and its updates).
const V4_BLOCKS: &[(Ipv4Addr, u32)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8), // "this network", including unspecified
    (Ipv4Addr::new(10, 0, 0, 0), 8), // private
    (Ipv4Addr::new(100, 64, 0, 0), 10), // shared address space (carrier-grade NAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8), // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16), // link-local, cloud metadata services
    (Ipv4Addr::new(172, 16, 0, 0), 12), // private
    (Ipv4Addr::new(192, 0, 0, 0), 24), // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24), // documentation
    (Ipv4Addr::new(192, 168, 0, 0), 16), // private
    (Ipv4Addr::new(198, 18, 0, 0), 15), // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation
    (Ipv4Addr::new(203, 0, 113, 0), 24), // documentation
    (Ipv4Addr::new(224, 0, 0, 0), 4), // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4), // reserved, including broadcast
];

/// Global unicast IPv6: everything outside it is refused.
const V6_GLOBAL: (Ipv6Addr, u32) = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

/// Blocks inside global unicast that are not public.
const V6_BLOCKS: &[(Ipv6Addr, u32)] = &[
    (Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 0), 48), // benchmarking
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),   // documentation
];

/// NAT64's well-known prefix: the last 32 bits are the IPv4 address reached.
const V6_NAT64: (Ipv6Addr, u32) = (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);

/// 6to4: bits 16 to 48 are the IPv4 address of the tunnel's end.
const V6_6TO4: (Ipv6Addr, u32) = (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

/// Whether a back-channel logout must not go to `ip` unless the operator allowed its host.
pub(super) fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    V4_BLOCKS.iter().any(|&(net, len)| {
        let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
        bits & mask == u32::from(net)
    })
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    !in_v6(ip, V6_GLOBAL) || V6_BLOCKS.iter().any(|&block| in_v6(ip, block))
}

/// The IPv4 address that `ip` stands for or leads to: IPv4-mapped, NAT64 or 6to4.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let bits = u128::from(ip);
    if in_v6(ip, V6_NAT64) {
        return Some(Ipv4Addr::from(low_u32(bits)));
    }
    if in_v6(ip, V6_6TO4) {
        return Some(Ipv4Addr::from(low_u32(bits >> 80)));
    }
    None
}

fn low_u32(bits: u128) -> u32 {
    u32::try_from(bits & u128::from(u32::MAX)).unwrap_or(u32::MAX)
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u32)) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(ip: &str) -> bool {
        let parsed: IpAddr = ip
            .parse()
            .unwrap_or_else(|_| panic!("{ip} is not an address"));
        is_forbidden(parsed)
    }

    #[test]
    fn refuses_special_ipv4_addresses() {
        let refused = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.0.0.2",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ];
        for ip in refused {
            assert!(forbidden(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn allows_public_ipv4_addresses() {
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.0.3.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
        ];
        for ip in allowed {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn refuses_special_ipv6_addresses() {
        let refused = [
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "100::1",
            "64:ff9b:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:2::1",
            "2001:db8::1",
            "3fff::1",
            "4000::1",
        ];
        for ip in refused {
            assert!(forbidden(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn refuses_ipv6_forms_of_special_ipv4_addresses() {
        let refused = [
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:192.168.0.1",
            "::ffff:0.0.0.0",
            "::ffff:255.255.255.255",
            "64:ff9b::10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "2002:7f00:1::",
        ];
        for ip in refused {
            assert!(forbidden(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn allows_public_ipv6_addresses() {
        let allowed = [
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "2a00:1450:4007:80c::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
            "3fff:1000::1",
        ];
        for ip in allowed {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }
}
