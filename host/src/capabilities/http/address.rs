//! Which IP addresses a provider's request may connect to: public unicast only. Everything a
//! network reserves for itself is refused (loopback, private, link-local, unique-local,
//! carrier-grade NAT, multicast, broadcast, documentation, benchmarking, reserved), and so are
//! the IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4) when the embedded address
//! is refused. Cloud metadata services sit in these ranges (169.254.169.254,
//! fd00:ec2::254, 100.100.100.200). Pure: no I/O.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges that are never public, as (network, prefix length).
const REFUSED_V4: [(u32, u8); 14] = [
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network", unspecified
    (0x0a00_0000, 8),  // 10.0.0.0/8 private
    (0x6440_0000, 10), // 100.64.0.0/10 carrier-grade NAT (Alibaba's metadata 100.100.100.200)
    (0x7f00_0000, 8),  // 127.0.0.0/8 loopback
    (0xa9fe_0000, 16), // 169.254.0.0/16 link-local (cloud metadata 169.254.169.254)
    (0xac10_0000, 12), // 172.16.0.0/12 private
    (0xc000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
    (0xc000_0200, 24), // 192.0.2.0/24 documentation (TEST-NET-1)
    (0xc058_6300, 24), // 192.88.99.0/24 6to4 relay anycast (deprecated)
    (0xc0a8_0000, 16), // 192.168.0.0/16 private
    (0xc612_0000, 15), // 198.18.0.0/15 benchmarking
    (0xc633_6400, 24), // 198.51.100.0/24 documentation (TEST-NET-2)
    (0xcb00_7100, 24), // 203.0.113.0/24 documentation (TEST-NET-3)
    (0xe000_0000, 3),  // 224.0.0.0/4 multicast and 240.0.0.0/4 reserved, broadcast included
];

/// IPv6 ranges inside the global unicast block 2000::/3 that are still not public.
const REFUSED_V6_GLOBAL: [(u128, u8); 3] = [
    (0x2001_0000 << 96, 23), // 2001::/23 IETF protocol assignments (Teredo included)
    (0x2001_0db8 << 96, 32), // 2001:db8::/32 documentation
    (0x3fff_0000 << 96, 20), // 3fff::/20 documentation
];

/// True when a provider's request may connect to `address`.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_prefix<T>(address: T, network: T, length: u8, bits: u32) -> bool
where
    T: Copy + std::ops::Shr<u32, Output = T> + PartialEq,
{
    let shift = bits - u32::from(length);
    address >> shift == network >> shift
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let bits = u32::from(address);
    !REFUSED_V4.iter().any(|&(network, length)| in_prefix(bits, network, length, 32))
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    if let Some(embedded) = embedded_v4(address) {
        return is_public_v4(embedded);
    }
    let bits = u128::from(address);
    // Only 2000::/3 is allocated for global unicast; loopback, unspecified, unique-local
    // (fc00::/7, AWS's fd00:ec2::254), link-local (fe80::/10), site-local, multicast
    // (ff00::/8), discard (100::/64), local-use NAT64 (64:ff9b:1::/48) and the rest of ::/8
    // all lie outside it.
    in_prefix(bits, 0x2000 << 112, 3, 128)
        && !REFUSED_V6_GLOBAL.iter().any(|&(network, length)| in_prefix(bits, network, length, 128))
}

/// The IPv4 address an IPv6 address stands for, where it embeds one: IPv4-mapped
/// (::ffff:a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d,
/// deprecated), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(address);
    let low32 = Ipv4Addr::from(bits as u32);
    if in_prefix(bits, 0, 96, 128)
        || in_prefix(bits, 0xffff << 32, 96, 128)
        || in_prefix(bits, 0xffff << 64, 96, 128)
        || in_prefix(bits, 0x0064_ff9b << 96, 96, 128)
    {
        return Some(low32);
    }
    if in_prefix(bits, 0x2002 << 112, 16, 128) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn reserved_ipv4_ranges_are_refused() {
        for address in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "240.0.0.1",
            "224.0.0.251",
            "239.255.255.250",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.9",
            "192.0.0.170",
        ] {
            assert!(!public(address), "{address} must be refused");
        }
    }

    #[test]
    fn public_ipv4_addresses_pass() {
        for address in
            ["8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "198.20.0.1", "93.184.216.34"]
        {
            assert!(public(address), "{address} is public");
        }
    }

    #[test]
    fn reserved_ipv6_ranges_are_refused() {
        for address in [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd00:ec2::254",
            "fec0::1",
            "ff02::1",
            "100::1",
            "64:ff9b:1::1",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::10.1.2.3",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(!public(address), "{address} must be refused");
        }
    }

    #[test]
    fn public_ipv6_addresses_pass() {
        for address in
            ["2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
        {
            assert!(public(address), "{address} is public");
        }
    }

    proptest! {
        /// An IPv4 address and every IPv6 form that embeds it are judged alike.
        #[test]
        fn embedded_forms_follow_their_ipv4_address(bits in any::<u32>()) {
            let v4 = Ipv4Addr::from(bits);
            let expected = is_public_v4(v4);
            prop_assert_eq!(is_public(IpAddr::V6(v4.to_ipv6_mapped())), expected);
            prop_assert_eq!(is_public(IpAddr::V6(Ipv6Addr::from((0x0064_ff9b_u128 << 96) | u128::from(bits)))), expected);
            prop_assert_eq!(is_public(IpAddr::V6(Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(bits) << 80)))), expected);
        }

        /// Every address inside a refused IPv4 range is refused.
        #[test]
        fn whole_ranges_are_refused(index in 0..REFUSED_V4.len(), host in any::<u32>()) {
            let (network, length) = REFUSED_V4[index];
            let address = network | (host >> length);
            prop_assert!(!is_public_v4(Ipv4Addr::from(address)), "{}", Ipv4Addr::from(address));
        }

        /// Nothing outside 2000::/3 passes unless it embeds a public IPv4 address.
        #[test]
        fn ipv6_outside_global_unicast_is_refused(bits in any::<u128>()) {
            let address = Ipv6Addr::from(bits);
            if !in_prefix(bits, 0x2000 << 112, 3, 128) && embedded_v4(address).is_none() {
                prop_assert!(!is_public_v6(address), "{}", address);
            }
        }
    }
}
