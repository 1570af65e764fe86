package tools

import (
	"errors"
	"fmt"
	"net/netip"
)

// nonPublic are the IANA special-purpose ranges (RFC 6890 and its updates)
// that a server-side fetch must never reach, beyond those the netip
// predicates already name (loopback, RFC 1918 and fc00::/7, link-local,
// multicast, unspecified). Each entry says why, for the error message.
var nonPublic = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `in "this network" (0.0.0.0/8)`},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible IPv6 address"},
	{netip.MustParsePrefix("::ffff:0:0:0/96"), "an IPv4-translated IPv6 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	{netip.MustParsePrefix("2001::/23"), "an IETF protocol assignment (Teredo, ORCHID, ...)"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
	{netip.MustParsePrefix("5f00::/16"), "a segment-routing SID"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// Prefixes that embed an IPv4 address, which is checked in turn: NAT64's
// well-known prefix (RFC 6052, the address in the last 32 bits) and 6to4
// (RFC 3056, the address in bits 16–47).
var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	sixToV4 = netip.MustParsePrefix("2002::/16")
)

// publicAddr refuses addresses a server-side fetch must never reach:
// loopback, private, link-local, multicast, unspecified, shared, reserved
// and documentation space, and IPv6 addresses that carry such an IPv4
// address (IPv4-mapped, NAT64, 6to4). IPv4-compatible addresses (::a.b.c.d,
// deprecated) are refused whatever they carry.
func publicAddr(a netip.Addr) error {
	if !a.IsValid() {
		return errors.New("invalid address")
	}
	orig := a
	a = a.Unmap().WithZone("")
	if a.Is6() {
		if inner, ok := embeddedV4(a); ok {
			if err := publicAddr(inner); err != nil {
				return fmt.Errorf("%s carries %w", orig, err)
			}
			return nil
		}
	}
	switch {
	case a.IsLoopback():
		return fmt.Errorf("%s is a loopback address", a)
	case a.IsPrivate():
		return fmt.Errorf("%s is a private address", a)
	case a.IsLinkLocalUnicast():
		return fmt.Errorf("%s is a link-local address", a)
	case a.IsUnspecified():
		return fmt.Errorf("%s is the unspecified address", a)
	case a.IsMulticast():
		return fmt.Errorf("%s is a multicast address", a)
	}
	for _, n := range nonPublic {
		if n.prefix.Contains(a) {
			return fmt.Errorf("%s is %s", a, n.why)
		}
	}
	return nil
}

// embeddedV4 returns the IPv4 address a NAT64 or 6to4 address carries.
func embeddedV4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToV4.Contains(a):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}
