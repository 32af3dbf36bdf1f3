import Foundation
import Lookup
import Testing

// Tests of the `ip xfrm` text format: IPXfrmReader, IPXfrmWriter.dump and IPXfrmWriter.batch.
// The policy dumps below are real output of iproute2 6.1 on Linux 6.18 (tabs written as \t,
// trailing spaces kept); the SA samples are built by hand from iproute2's printing code,
// because this machine's kernel has no ESP/AH/IPcomp and cannot hold SAs.

// MARK: - Helpers

private func xfAddress(_ text: String) -> IPAddress {
  guard let parsed = IPAddress(parsing: text) else { fatalError("bad test address \(text)") }
  return parsed
}

private func xfPrefix(_ text: String) -> AddressPrefix {
  let parts = text.split(separator: "/")
  guard parts.count == 2, let length = Int(parts[1]),
        let prefix = try? AddressPrefix(address: xfAddress(String(parts[0])), length: length) else {
    fatalError("bad test prefix \(text)")
  }
  return prefix
}

private func xfSelector(_ source: String, _ destination: String, proto: UInt8? = nil,
                      sport: PortSelector = .any, dport: PortSelector = .any, ifindex: UInt32 = 0,
                      dscp: DSCPSelector = .any) -> PolicySelector {
  guard let selector = try? PolicySelector(
    source: xfPrefix(source), destination: xfPrefix(destination), sourcePort: sport, destinationPort: dport,
    proto: proto.map { .number($0) } ?? .any, ifindex: ifindex, dscp: dscp) else {
    fatalError("bad test selector")
  }
  return selector
}

private func xfTemplate(_ source: String, _ destination: String, _ proto: IPsecProtocol = .esp, spi: UInt32 = 0,
                      reqid: UInt32, mode: IPsecMode, optional: Bool = false) -> PolicyTemplate {
  let src = xfAddress(source)
  return PolicyTemplate(family: src.family, source: src, destination: xfAddress(destination), proto: proto, spi: spi,
                        reqid: reqid, mode: mode, isOptional: optional)
}

private func xfSA(_ source: String?, _ destination: String, _ proto: IPsecProtocol = .esp, spi: UInt32,
                mode: IPsecMode = .tunnel, reqid: UInt32 = 0, mark: MarkSelector = .any, interfaceID: UInt32 = 0,
                selector: PolicySelector? = nil, window: UInt32 = 0, namespace: UInt32 = 0) -> SecurityAssociation {
  guard let value = try? SecurityAssociation(
    spi: spi, proto: proto, mode: mode, reqid: reqid, destination: xfAddress(destination),
    source: source.map(xfAddress), mark: mark, interfaceID: interfaceID, selector: selector,
    replayWindow: window, namespace: namespace) else {
    fatalError("bad test SA")
  }
  return value
}

private func xfText(_ lines: [String]) -> String { lines.joined(separator: "\n") + "\n" }

private func xfReadError(_ input: String) -> FormatError? {
  do {
    _ = try IPXfrmReader.read(input, file: "test.txt", interfaces: ["lo": 1])
    return nil
  } catch {
    return error
  }
}

private func xfWriteError(policies: [Policy] = [], states: [SecurityAssociation] = [],
                        interfaceName: (UInt32) -> String? = { $0 == 1 ? "lo" : nil }) -> IPXfrmWriteError? {
  do {
    _ = try IPXfrmWriter.batch(policies: policies, securityAssociations: states, interfaceName: interfaceName)
    return nil
  } catch {
    return error
  }
}

// MARK: - Real dumps (iproute2 6.1, Linux 6.18)

/// `ip xfrm policy list`, newest first.
private let realPlainDump = xfText([
  "src 2001:db8::1/128 dst 2001:db8::2/128 proto udp dport 4500 ",
  "\tdir out priority 4294967295 ptype main ",
  "\ttmpl src 2001:db8::1 dst 2001:db8::2",
  "\t\tproto esp spi 0x00c0ffee reqid 4294967295 mode tunnel",
  "\tif_id 0x2a",
  "src 0.0.0.0/0 dst 0.0.0.0/0 proto 200 ",
  "\tdir in priority 1 ptype main ",
  "\tmark 0x5/0xffffffff ",
  "\ttmpl src 5.5.5.5 dst 6.6.6.6",
  "\t\tproto comp spi 0x00000010 reqid 2 mode tunnel",
  "src 2001:db8:aa::/48 dst ::/0 proto mobility-header type 5 dev lo ",
  "\tdir in priority 3 ptype main ",
  "\tmark 0/0xf0 ",
  "\ttmpl src 2001:db8::5 dst 2001:db8::6",
  "\t\tproto esp reqid 6 mode tunnel",
  "\t\tlevel use ",
  "src 10.1.0.0/16 dst 10.9.0.0/16 proto icmp type 8 code 0 ",
  "\tdir out priority 2 ptype sub ",
  "\ttmpl src 1.1.1.1 dst 2.2.2.2",
  "\t\tproto ah spi 0x00001000 reqid 9 mode tunnel",
  "\ttmpl src 3.3.3.3 dst 4.4.4.4",
  "\t\tproto esp reqid 1 mode beet",
  "src 10.1.2.3/16 dst 10.9.0.0/16 proto gre key 65538 ",
  "\tdir in action block priority 5 ptype main ",
  "src 2001:db8::/32 dst 2001:db8:1::1/128 proto ipv6-icmp type 128 code 0 ",
  "\tdir fwd priority 7 ptype main ",
  "\ttmpl src :: dst ::",
  "\t\tproto esp reqid 3 mode transport",
  "\t\tlevel use ",
  "src 10.0.0.0/8 dst 192.168.1.0/24 proto tcp sport 1024 dport 80 ",
  "\tdir out priority 100 ptype main ",
  "\tmark 0x10/0xff ",
  "\ttmpl src 1.1.1.1 dst 2.2.2.2",
  "\t\tproto esp reqid 5 mode tunnel",
  "\tif_id 0x7",
])

/// `ip -s xfrm policy list` of the same SPD (its first three policies).
private let realStatsDump = xfText([
  "src 2001:db8::1/128 dst 2001:db8::2/128 proto udp dport 4500 uid 0",
  "\tdir out action allow index 41 priority 4294967295 ptype main share any flag  (0x00000000)",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2026-11-29 09:36:16 use -",
  "\ttmpl src 2001:db8::1 dst 2001:db8::2",
  "\t\tproto esp spi 0x00c0ffee(12648430) reqid 4294967295(0xffffffff) mode tunnel",
  "\t\tlevel required share any ",
  "\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff",
  "\tif_id 0x2a",
  "src 0.0.0.0/0 dst 0.0.0.0/0 proto 200 uid 0",
  "\tdir in action allow index 8 priority 1 ptype main share any flag  (0x00000000)",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2026-11-29 09:36:16 use -",
  "\tmark 0x5/0xffffffff ",
  "\ttmpl src 5.5.5.5 dst 6.6.6.6",
  "\t\tproto comp spi 0x00000010(16) reqid 2(0x00000002) mode tunnel",
  "\t\tlevel required share any ",
  "\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff",
  "src 2001:db8:aa::/48 dst ::/0 proto mobility-header type 5 dev lo uid 0",
  "\tdir in action allow index 32 priority 3 ptype main share any flag  (0x00000000)",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2026-11-29 09:36:16 use -",
  "\tmark 0/0xf0 ",
  "\ttmpl src 2001:db8::5 dst 2001:db8::6",
  "\t\tproto esp spi 0x00000000(0) reqid 6(0x00000006) mode tunnel",
  "\t\tlevel use share any ",
  "\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff",
  "src 10.1.0.0/16 dst 10.9.0.0/16 proto icmp type 8 code 0 uid 0",
  "\tdir out action allow index 25 priority 2 ptype sub share any flag  (0x00000000)",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2026-11-29 09:36:16 use -",
  "\ttmpl src 1.1.1.1 dst 2.2.2.2",
  "\t\tproto ah spi 0x00001000(4096) reqid 9(0x00000009) mode tunnel",
  "\t\tlevel required share any ",
  "\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff",
  "\ttmpl src 3.3.3.3 dst 4.4.4.4",
  "\t\tproto esp spi 0x00000000(0) reqid 1(0x00000001) mode beet",
  "\t\tlevel required share any ",
  "\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff",
  "src 10.1.2.3/16 dst 10.9.0.0/16 proto gre key 65538 uid 0",
  "\tdir in action block index 16 priority 5 ptype main share any flag  (0x00000000)",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2026-11-29 09:36:16 use -",
  "src 2001:db8::/32 dst 2001:db8:1::1/128 proto ipv6-icmp type 128 code 0 uid 0",
  "\tdir fwd action allow index 10 priority 7 ptype main share any flag  (0x00000000)",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2026-11-29 09:36:16 use -",
  "\ttmpl src :: dst ::",
  "\t\tproto esp spi 0x00000000(0) reqid 3(0x00000003) mode transport",
  "\t\tlevel use share any ",
  "\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff",
  "src 10.0.0.0/8 dst 192.168.1.0/24 proto tcp sport 1024 dport 80 uid 0",
  "\tdir out action allow index 1 priority 100 ptype main share any flag  (0x00000000)",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2026-11-29 09:36:16 use -",
  "\tmark 0x10/0xff ",
  "\ttmpl src 1.1.1.1 dst 2.2.2.2",
  "\t\tproto esp spi 0x00000000(0) reqid 5(0x00000005) mode tunnel",
  "\t\tlevel required share any ",
  "\t\tenc-mask ffffffff auth-mask ffffffff comp-mask ffffffff",
  "\tif_id 0x7",
])

/// `ip xfrm policy getdefault`.
private let realDefaults = xfText(["Default policies:", " in:  block", " fwd: accept", " out: accept"])

/// What the two real dumps hold, newest first (the plain form has no indexes).
private let realPolicies: [Policy] = [
  Policy(selector: xfSelector("2001:db8::1/128", "2001:db8::2/128", proto: 17, dport: .exactly(4500)),
         priority: 4_294_967_295, direction: .out,
         templates: [xfTemplate("2001:db8::1", "2001:db8::2", spi: 0xC0FFEE, reqid: 4_294_967_295, mode: .tunnel)],
         interfaceID: 0x2A),
  Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 200), priority: 1, direction: .in,
         templates: [xfTemplate("5.5.5.5", "6.6.6.6", .ipcomp, spi: 0x10, reqid: 2, mode: .tunnel)],
         mark: MarkSelector(value: 5, mask: 0xFFFF_FFFF)),
  Policy(selector: xfSelector("2001:db8:aa::/48", "::/0", proto: 135, sport: .exactly(5), ifindex: 1), priority: 3,
         direction: .in,
         templates: [xfTemplate("2001:db8::5", "2001:db8::6", reqid: 6, mode: .tunnel, optional: true)],
         mark: MarkSelector(value: 0, mask: 0xF0)),
  Policy(selector: xfSelector("10.1.0.0/16", "10.9.0.0/16", proto: 1, sport: .exactly(8), dport: .exactly(0)),
         priority: 2, direction: .out, type: .sub,
         templates: [xfTemplate("1.1.1.1", "2.2.2.2", .ah, spi: 0x1000, reqid: 9, mode: .tunnel),
                     xfTemplate("3.3.3.3", "4.4.4.4", reqid: 1, mode: .beet)]),
  Policy(selector: xfSelector("10.1.2.3/16", "10.9.0.0/16", proto: 47, sport: .exactly(1), dport: .exactly(2)),
         priority: 5, direction: .in, action: .block),
  Policy(selector: xfSelector("2001:db8::/32", "2001:db8:1::1/128", proto: 58, sport: .exactly(128), dport: .exactly(0)),
         priority: 7, direction: .fwd,
         templates: [xfTemplate("::", "::", reqid: 3, mode: .transport, optional: true)]),
  Policy(selector: xfSelector("10.0.0.0/8", "192.168.1.0/24", proto: 6, sport: .exactly(1024), dport: .exactly(80)),
         priority: 100, direction: .out, templates: [xfTemplate("1.1.1.1", "2.2.2.2", reqid: 5, mode: .tunnel)],
         mark: MarkSelector(value: 0x10, mask: 0xFF), interfaceID: 7),
]

// MARK: - SA samples (built from xfrm_state_info_print)

/// `ip xfrm state list`: ESP tunnel with mark, if_id, a port selector and UDP encapsulation;
/// AH transport with a wildcard source over IPv6; IPcomp; ESP with a 128-packet ESN window.
private let stateSamples = xfText([
  "src 10.0.0.1 dst 10.0.0.2",
  "\tproto esp spi 0x00000100 reqid 5 mode tunnel",
  "\treplay-window 32 flag af-unspec ",
  "\tmark 0x10/0xff output-mark 0x20",
  "\tauth-trunc hmac(sha256) 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128",
  "\tenc cbc(aes) 0x00112233445566778899aabbccddeeff",
  "\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0",
  "\tlastused 2024-08-29 09:30:00",
  "\tanti-replay context: seq 0x0, oseq 0x2a, bitmap 0x00000000",
  "\tif_id 0x2a",
  "\tdir out",
  "\tsel src 10.0.0.0/8 dst 192.168.1.0/24 proto tcp sport 1024 dport 80 ",
  "src :: dst 2001:db8::2",
  "\tproto ah spi 0x00001000 reqid 0 mode transport",
  "\treplay-window 0 ",
  "\tauth hmac(sha1) 0x0011223344556677889900112233445566778899",
  "\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000",
  "\tsel src ::/0 dst ::/0 ",
  "src 10.0.0.1 dst 10.0.0.3",
  "\tproto comp spi 0x00000010 reqid 2 mode tunnel",
  "\treplay-window 0 ",
  "\tcomp deflate ",
  "\tcoa 10.0.0.9",
  "src 10.0.0.1 dst 10.0.0.4",
  "\tproto esp spi 0xc0ffee00 reqid 7 mode beet",
  "\treplay-window 0 flag esn ",
  "\taead rfc4106(gcm(aes)) 0x00112233445566778899aabbccddeeff00112233 128",
  "\tanti-replay esn context:",
  "\t seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0",
  "\t replay_window 128, bitmap-length 4",
  "\t 00000000 00000000 00000000 00000000 ",
  "\tcrypto offload parameters: dev eth2 dir out mode packet",
  "\ttfcpad 0",
  "\tpcpu-num 1",
  "\tsel src 0.0.0.0/0 dst 0.0.0.0/0 proto gre key 65538 dev lo ",
])

private let stateSampleValues: [SecurityAssociation] = [
  xfSA("10.0.0.1", "10.0.0.2", spi: 0x100, reqid: 5, mark: MarkSelector(value: 0x10, mask: 0xFF), interfaceID: 0x2A,
     selector: xfSelector("10.0.0.0/8", "192.168.1.0/24", proto: 6, sport: .exactly(1024), dport: .exactly(80)),
     window: 32),
  xfSA(nil, "2001:db8::2", .ah, spi: 0x1000, mode: .transport, selector: xfSelector("::/0", "::/0")),
  xfSA("10.0.0.1", "10.0.0.3", .ipcomp, spi: 0x10, reqid: 2),
  xfSA("10.0.0.1", "10.0.0.4", spi: 0xC0FF_EE00, mode: .beet, reqid: 7,
     selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 47, sport: .exactly(1), dport: .exactly(2), ifindex: 1),
     window: 128),
]

/// The same four SAs as `ip -s xfrm state list` prints them (first two).
private let stateStatsSamples = xfText([
  "src 10.0.0.1 dst 10.0.0.2",
  "\tproto esp spi 0x00000100(256) reqid 5(0x00000005) mode tunnel",
  "\treplay-window 32 seq 0x00000000 flag af-unspec  (0x00100000)",
  "\tmark 0x10/0xff ",
  "\tauth-trunc hmac(sha256) 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff (256 bits) 128",
  "\tenc cbc(aes) 0x00112233445566778899aabbccddeeff (128 bits)",
  "\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000",
  "\tif_id 0x2a",
  "\tsel src 10.0.0.0/8 dst 192.168.1.0/24 proto tcp sport 1024 dport 80 uid 0",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2024-08-29 09:23:56 use -",
  "\tstats:",
  "\t  replay-window 0 replay 0 failed 0",
  "src :: dst 2001:db8::2",
  "\tproto ah spi 0x00001000(4096) reqid 0(0x00000000) mode transport",
  "\treplay-window 0 seq 0x00000000 flag  (0x00000000)",
  "\tauth hmac(sha1) 0x0011223344556677889900112233445566778899 (160 bits)",
  "\tanti-replay context: seq 0x0, oseq 0x0, bitmap 0x00000000",
  "\tsel src ::/0 dst ::/0 uid 0",
  "\tlifetime config:",
  "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
  "\t  limit: soft (INF)(packets), hard (INF)(packets)",
  "\t  expire add: soft 0(sec), hard 0(sec)",
  "\t  expire use: soft 0(sec), hard 0(sec)",
  "\tlifetime current:",
  "\t  0(bytes), 0(packets)",
  "\t  add 2024-08-29 09:23:56 use -",
  "\tstats:",
  "\t  replay-window 0 replay 0 failed 0",
])

// MARK: - Reading

@Suite("IPXfrm reader")
struct IPXfrmReaderTests {
  @Test func readsRealPlainPolicyDump() throws {
    let dump = try IPXfrmReader.read(realPlainDump, file: "plain.txt", interfaces: ["lo": 1])
    #expect(dump.policies == realPolicies)
    #expect(dump.securityAssociations.isEmpty)
    #expect(dump.defaultActions == nil)
    #expect(dump.policiesOldestFirst == realPolicies.reversed())
  }

  @Test func readsRealStatsPolicyDump() throws {
    let dump = try IPXfrmReader.read(realStatsDump, file: "stats.txt", interfaces: ["lo": 1])
    let indexes: [UInt32] = [41, 8, 32, 25, 16, 10, 1]
    #expect(dump.policies.map(\.index) == indexes)
    var withoutIndexes = dump.policies
    for i in withoutIndexes.indices { withoutIndexes[i].index = 0 }
    #expect(withoutIndexes == realPolicies)
  }

  @Test func readsDefaultPoliciesAfterTheLists() throws {
    let dump = try IPXfrmReader.read(realPlainDump + stateSamples + realDefaults, file: "all.txt",
                                     interfaces: ["lo": 1])
    #expect(dump.defaultActions == DefaultActions(inbound: .block, outbound: .allow, forward: .allow))
    #expect(dump.policies.count == realPolicies.count)
    #expect(dump.securityAssociations.count == stateSampleValues.count)
  }

  @Test func readsStateSamples() throws {
    let dump = try IPXfrmReader.read(stateSamples, file: "states.txt", interfaces: ["lo": 1])
    #expect(dump.policies.isEmpty)
    #expect(dump.securityAssociations == stateSampleValues)
    #expect(dump.securityAssociationsOldestFirst == stateSampleValues.reversed())
    #expect(dump.securityAssociations[1].source.isUnspecified)
  }

  @Test func readsStateStatsSamples() throws {
    let dump = try IPXfrmReader.read(stateStatsSamples, file: "states-s.txt")
    #expect(dump.securityAssociations == Array(stateSampleValues.prefix(2)))
  }

  @Test func readsUnnamedDevicesAndBlankLines() throws {
    // `ip` prints `ifN` for an index it cannot name; blank lines separate entries.
    let input = xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 dev if77 ", "\tdir in priority 0 ptype main ", "",
                      "src 10.0.0.0/8 dst 10.0.0.0/9 proto 0 sport 9 ", "\tdir in priority 0 ptype main flag localok "])
    let dump = try IPXfrmReader.read(input, file: "t")
    #expect(dump.policies.map(\.selector.ifindex) == [77, 0])
    #expect(dump.policies[1].selector.proto == .any)
    #expect(dump.policies[1].selector.sourcePort == .exactly(9))
  }

  @Test func readsMobilityHeaderDportAnnotation() throws {
    // `ip -s` prints a mobility-header code as the raw network-order field (code 3 → 0x0300).
    let input = xfText(["src ::/0 dst ::/0 proto mobility-header type 5 (dport) 0x0300 dev lo uid 0",
                      "\tdir out action allow index 1 priority 3 ptype main share any flag  (0x00000000)"])
    let dump = try IPXfrmReader.read(input, file: "t", interfaces: ["lo": 1])
    #expect(dump.policies.first?.selector.destinationPort == .exactly(3))
  }
}

// MARK: - Round trips and the dump writer

@Suite("IPXfrm writer")
struct IPXfrmWriterTests {
  @Test func dumpReproducesRealPlainOutputExactly() throws {
    let dump = try IPXfrmReader.read(realPlainDump, file: "plain.txt", interfaces: ["lo": 1])
    #expect(IPXfrmWriter.dump(dump, interfaceName: { $0 == 1 ? "lo" : nil }) == realPlainDump)
    #expect(IPXfrmWriter.dump(IPXfrmDump(defaultActions: DefaultActions(inbound: .block))) == realDefaults)
  }

  @Test func roundTripReadDumpRead() throws {
    for input in [realPlainDump + stateSamples + realDefaults, realStatsDump + stateStatsSamples] {
      let first = try IPXfrmReader.read(input, file: "in.txt", interfaces: ["lo": 1])
      let written = IPXfrmWriter.dump(first, interfaceName: { $0 == 1 ? "lo" : nil })
      let second = try IPXfrmReader.read(written, file: "out.txt", interfaces: ["lo": 1])
      #expect(second == first)
    }
  }

  @Test func roundTripOfLargeWindowsAndMobilityCodes() throws {
    let original = IPXfrmDump(
      policies: [Policy(selector: xfSelector("::/0", "::/0", proto: 135, sport: .exactly(1), dport: .exactly(3)),
                        index: 17, direction: .out)],
      securityAssociations: [xfSA("10.0.0.1", "10.0.0.2", spi: 0x1234, window: 4096),
                             xfSA("10.0.0.1", "10.0.0.2", .ah, spi: 0x1235, window: 33)])
    let written = IPXfrmWriter.dump(original)
    #expect(written.contains("\t replay_window 4096, bitmap-length 128\n"))
    #expect(try IPXfrmReader.read(written, file: "t") == original)
  }

  @Test func inexpressibleSelectorsDumpInSpellingsTheReaderRefuses() {
    let policy = Policy(selector: xfSelector("10.0.0.0/8", "0.0.0.0/0", proto: 6, sport: PortSelector(1...1023),
                                           dport: PortSelector(value: 0x100, mask: 0xFF00)),
                        direction: .in)
    let written = IPXfrmWriter.dump(IPXfrmDump(policies: [policy]))
    #expect(written.hasPrefix("src 10.0.0.0/8 dst 0.0.0.0/0 proto tcp sport 1-1023 dport 256/0xff00 \n"))
    #expect(xfReadError(written)?.column == 47)
  }
}

// MARK: - The batch writer

@Suite("IPXfrm batch writer")
struct IPXfrmBatchTests {
  private static let policies: [Policy] = [
    Policy(selector: xfSelector("10.0.0.0/8", "192.168.1.0/24", proto: 6, sport: .exactly(1024), dport: .exactly(80)),
           priority: 100, direction: .out, templates: [xfTemplate("1.1.1.1", "2.2.2.2", reqid: 5, mode: .tunnel)],
           mark: MarkSelector(value: 0x10, mask: 0xFF), interfaceID: 7),
    Policy(selector: xfSelector("2001:db8::/32", "2001:db8:1::1/128", proto: 58, sport: .exactly(128),
                              dport: .exactly(0)),
           priority: 7, direction: .fwd, templates: [xfTemplate("::", "::", reqid: 3, mode: .transport, optional: true)]),
    Policy(selector: xfSelector("10.1.2.3/16", "10.9.0.0/16", proto: 47, sport: .exactly(1), dport: .exactly(2),
                              ifindex: 1),
           priority: 5, index: 8, direction: .in, action: .block),
    Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", dport: .exactly(53)), priority: 9, direction: .out,
           type: .sub, templates: [xfTemplate("1.1.1.1", "2.2.2.2", .ah, spi: 0x1000, reqid: 9, mode: .tunnel),
                                   xfTemplate("3.3.3.3", "4.4.4.4", reqid: 1, mode: .beet)]),
  ]

  private static let states: [SecurityAssociation] = [
    xfSA("1.1.1.1", "2.2.2.2", spi: 0x100, reqid: 5, mark: MarkSelector(value: 0x10, mask: 0xFF), interfaceID: 7,
       selector: xfSelector("10.0.0.0/8", "192.168.1.0/24", proto: 6), window: 32),
    xfSA(nil, "2001:db8::2", .ah, spi: 0x1000, mode: .transport),
    xfSA("5.5.5.5", "6.6.6.6", .ipcomp, spi: 0x10, reqid: 2),
  ]

  @Test func batchForAKnownSet() throws {
    let batch = try IPXfrmWriter.batch(
      policies: Self.policies, securityAssociations: Self.states,
      defaultActions: DefaultActions(inbound: .block, outbound: .allow, forward: .block),
      interfaceName: { $0 == 1 ? "lo" : nil })
    #expect(batch == xfText([
      "xfrm policy add src 10.0.0.0/8 dst 192.168.1.0/24 proto 6 sport 1024 dport 80 dir out mark 0x10 mask 0xff "
        + "ptype main action allow priority 100 if_id 7 tmpl src 1.1.1.1 dst 2.2.2.2 proto esp reqid 5 mode tunnel",
      "xfrm policy add src 2001:db8::/32 dst 2001:db8:1::1/128 proto 58 type 128 code 0 dir fwd ptype main "
        + "action allow priority 7 tmpl src :: dst :: proto esp reqid 3 mode transport level use",
      "xfrm policy add src 10.1.2.3/16 dst 10.9.0.0/16 dev lo proto 47 key 65538 dir in index 8 ptype main "
        + "action block priority 5",
      "xfrm policy add src 0.0.0.0/0 dst 0.0.0.0/0 dport 53 dir out ptype sub action allow priority 9 "
        + "tmpl src 1.1.1.1 dst 2.2.2.2 proto ah spi 0x00001000 reqid 9 mode tunnel "
        + "tmpl src 3.3.3.3 dst 4.4.4.4 proto esp reqid 1 mode beet",
      "xfrm policy setdefault in block fwd block out accept",
      "xfrm state add src 1.1.1.1 dst 2.2.2.2 proto esp spi 0x00000100 reqid 5 mode tunnel mark 0x10 mask 0xff "
        + "if_id 7 replay-window 32 sel src 10.0.0.0/8 dst 192.168.1.0/24 proto 6 enc cipher_null \"\"",
      "xfrm state add src :: dst 2001:db8::2 proto ah spi 0x00001000 reqid 0 mode transport auth digest_null \"\"",
      "xfrm state add src 5.5.5.5 dst 6.6.6.6 proto comp spi 0x00000010 reqid 2 mode tunnel comp deflate",
    ]))
  }

  @Test func emptyBatchIsEmpty() throws {
    #expect(try IPXfrmWriter.batch(policies: []) == "")
  }

  private static let any4 = xfSelector("0.0.0.0/0", "0.0.0.0/0")

  /// Every inexpressible case, with the reason the writer must give.
  private static let policyCases: [(Policy, IPXfrmWriteError.Reason)] = [
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 6, sport: PortSelector(1...1023)), direction: .in),
     .portRange(.source, low: 1, high: 1023)),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 17, dport: PortSelector(1024...2047)), direction: .in),
     .portMask(.destination, value: 1024, mask: 0xFC00)),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 6, sport: .exactly(0)), direction: .in),
     .exactPortZero(.source)),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 0), direction: .in), .exactProtocolZero),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", dscp: try! DSCPSelector(46)), direction: .in), .dscp(46)),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", ifindex: 999), direction: .in), .unknownInterface(999)),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 136, dport: .exactly(5)), direction: .in),
     .portsNotAllowed(.destination, proto: 136)),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 1, sport: .exactly(300)), direction: .in),
     .typeCodeTooLarge(.source, value: 300)),
    (Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 47, sport: .exactly(1)), direction: .in),
     .partialGREKey),
    (Policy(selector: any4, direction: .in, mark: MarkSelector(value: 5, mask: 0)), .markWithoutMask(value: 5)),
    (Policy(selector: any4, index: 9, direction: .in), .indexDirectionMismatch(index: 9)),
    (Policy(selector: any4, direction: .in,
            templates: Array(repeating: xfTemplate("1.1.1.1", "2.2.2.2", reqid: 1, mode: .tunnel), count: 7)),
     .tooManyTemplates(7)),
    (Policy(selector: any4, direction: .in, templates: [xfTemplate("::", "::", reqid: 1, mode: .transport)]),
     .templateFamilyChange(template: 0)),
    (Policy(selector: any4, direction: .out,
            templates: [xfTemplate("1.1.1.1", "2.2.2.2", reqid: 1, mode: .tunnel, optional: true)]),
     .optionalTemplateInOutbound(template: 0)),
    (Policy(selector: any4, direction: .in, templates: [
      PolicyTemplate(family: .ipv6, source: xfAddress("1.1.1.1"), destination: xfAddress("2.2.2.2"), reqid: 1,
                     mode: .tunnel)]),
     .templateFamilyMismatch(template: 0)),
    (Policy(selector: any4, direction: .in,
            templates: [xfTemplate("1.1.1.1", "2.2.2.2", .ipcomp, spi: 0x10000, reqid: 1, mode: .tunnel)]),
     .templateCPITooLarge(template: 0, spi: 0x10000)),
  ]

  @Test(arguments: 0..<policyCases.count)
  func refusesInexpressiblePolicy(_ number: Int) {
    let (policy, reason) = Self.policyCases[number]
    let ok = Policy(selector: Self.any4, direction: .fwd)
    let error = xfWriteError(policies: [ok, policy])
    #expect(error == IPXfrmWriteError(entry: .policy(position: 1, policy), reason: reason))
    #expect(error?.description.hasPrefix("policy #1 (src 0.0.0.0/0 dst 0.0.0.0/0 ") == true)
  }

  private static let stateCases: [(SecurityAssociation, IPXfrmWriteError.Reason)] = [
    (xfSA("1.1.1.1", "2.2.2.2", spi: 0x100, namespace: 3), .namespace(3)),
    (xfSA("1.1.1.1", "2.2.2.2", .ah, spi: 0x100, mode: .beet), .modeNotAllowed(.beet, .ah)),
    (xfSA("1.1.1.1", "2.2.2.2", .ipcomp, spi: 0x100, window: 64), .replayWindowTooLarge(64, .ipcomp)),
    (xfSA("1.1.1.1", "2.2.2.2", spi: 0x100, selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 6,
                                                               dport: PortSelector(value: 1, mask: 1))),
     .portMask(.destination, value: 1, mask: 1)),
    (xfSA("1.1.1.1", "2.2.2.2", spi: 0x100, mark: MarkSelector(value: 1, mask: 0)), .markWithoutMask(value: 1)),
  ]

  @Test(arguments: 0..<stateCases.count)
  func refusesInexpressibleSA(_ number: Int) {
    let (state, reason) = Self.stateCases[number]
    let error = xfWriteError(states: [state])
    #expect(error == IPXfrmWriteError(entry: .securityAssociation(position: 0, state), reason: reason))
    #expect(error?.description.hasPrefix("SA #0 (1.1.1.1 → 2.2.2.2 ") == true)
  }
}

// MARK: - Malformed input

@Suite("IPXfrm malformed input")
struct IPXfrmMalformedTests {
  private static let dirLine = "\tdir out priority 0 ptype main "

  /// (name, input, line, column, a word of the expectation).
  private static let cases: [(String, String, Int, Int, String)] = [
    ("bad address", xfText(["src 10.0.0.300/8 dst 10.0.0.0/8 ", dirLine]), 1, 5, "address"),
    ("prefix length /33", xfText(["src 10.0.0.0/33 dst 10.0.0.0/8 ", dirLine]), 1, 14, "prefix length 0...32"),
    ("family mismatch", xfText(["src 10.0.0.0/8 dst ::/0 ", dirLine]), 1, 20, "same address family"),
    ("unknown proto name", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 proto bogus ", dirLine]), 1, 37, "protocol name"),
    ("proto out of range", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 proto 256 ", dirLine]), 1, 37, "0...255"),
    ("port token for ICMP", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 proto icmp sport 3 ", dirLine]), 1, 42, "'type'"),
    ("unknown interface", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 dev nosuchdev0 ", dirLine]), 1, 35, "interface"),
    ("missing dir line", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", "\tmark 0x1/0x1 "]), 2, 2, "'dir'"),
    ("unknown direction", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", "\tdir sideways priority 0"]), 2, 6,
     "direction (in, out or fwd)"),
    ("unknown token on dir line", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", "\tdir out priority 1 ptype main bogus "]),
     2, 32, "'action'"),
    ("dir line without priority", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", "\tdir out ptype main "]), 2, 21,
     "'priority N'"),
    ("bad hex mark", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", dirLine, "\tmark 0xZZ/0xff "]), 3, 7, "mark value"),
    ("unknown policy line", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", dirLine, "\tfrobnicate 1"]), 3, 2, "'tmpl'"),
    ("truncated template", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", dirLine, "\ttmpl src 1.1.1.1 dst 2.2.2.2",
                                 "\tif_id 0x7"]), 4, 2, "proto"),
    ("template cut off at the end", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", dirLine,
                                          "\ttmpl src 1.1.1.1 dst 2.2.2.2"]), 4, 1, "proto"),
    ("unsupported template mode", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", dirLine, "\ttmpl src :: dst ::",
                                        "\t\tproto esp reqid 1 mode ro"]), 4, 26, "unsupported"),
    ("unsupported template protocol", xfText(["src ::/0 dst ::/0 ", dirLine, "\ttmpl src :: dst ::",
                                            "\t\tproto route2 reqid 0 mode ro"]), 4, 9, "unsupported"),
    ("security context", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", "\tsecurity context system_u:object_r:t:s0 ",
                               dirLine]), 2, 2, "unsupported"),
    ("socket policy", xfText(["src 0.0.0.0/0 dst 0.0.0.0/0 ", "\tsocket in priority 0 ptype main "]), 2, 2,
     "unsupported"),
    ("unknown top-level line", xfText(["hello world"]), 1, 1, "'src …'"),
    ("SPI 0x00000001 reserved", xfText(["src 10.0.0.1 dst 10.0.0.2", "\tproto esp spi 0x00000001 reqid 1 mode tunnel",
                                      "\treplay-window 0 "]), 2, 16, "reserved"),
    ("IPcomp CPI too large", xfText(["src 10.0.0.1 dst 10.0.0.2", "\tproto comp spi 0x00010000 reqid 1 mode tunnel",
                                   "\treplay-window 0 "]), 2, 17, "CPI"),
    ("SA without replay line", xfText(["src 10.0.0.1 dst 10.0.0.2", "\tproto esp spi 0x00000100 reqid 1 mode tunnel",
                                     "\tif_id 0x1"]), 3, 2, "'replay-window'"),
    ("unknown SA line", xfText(["src 10.0.0.1 dst 10.0.0.2", "\tproto esp spi 0x00000100 reqid 1 mode tunnel",
                              "\treplay-window 0 ", "\tfrobnicate"]), 4, 2, "SA detail line"),
    ("ESN window above 4096", xfText(["src 10.0.0.1 dst 10.0.0.2", "\tproto esp spi 0x00000100 reqid 1 mode tunnel",
                                    "\treplay-window 0 ", "\tanti-replay esn context:",
                                    "\t seq-hi 0x0, seq 0x0, oseq-hi 0x0, oseq 0x0",
                                    "\t replay_window 8192, bitmap-length 128"]), 6, 17, "0...4096"),
    ("lifetime block cut short", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", dirLine, "\tlifetime config:",
                                       "\t  limit: soft (INF)(bytes), hard (INF)(bytes)", "\tmark 0x1/0x1 "]),
     5, 2, "lifetime line"),
    ("bad default action", xfText(["Default policies:", " in:  maybe", " fwd: block", " out: accept"]), 2, 7,
     "accept or block"),
    ("incomplete defaults", xfText(["Default policies:", " in:  block"]), 3, 1, "' out:'"),
    ("detail line without an entry", xfText(["\tdir out priority 0 ptype main "]), 1, 2, "'src …'"),
    ("index of another direction", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ",
                                         "\tdir out action allow index 8 priority 1 ptype main "]), 2, 29,
     "low three bits"),
    ("a seventh template", xfText(["src 10.0.0.0/8 dst 10.0.0.0/8 ", dirLine, "\ttmpl src 1.1.1.1 dst 2.2.2.2", "\t\tproto esp reqid 1 mode tunnel", "\ttmpl src 1.1.1.1 dst 2.2.2.2", "\t\tproto esp reqid 1 mode tunnel", "\ttmpl src 1.1.1.1 dst 2.2.2.2", "\t\tproto esp reqid 1 mode tunnel", "\ttmpl src 1.1.1.1 dst 2.2.2.2", "\t\tproto esp reqid 1 mode tunnel", "\ttmpl src 1.1.1.1 dst 2.2.2.2", "\t\tproto esp reqid 1 mode tunnel", "\ttmpl src 1.1.1.1 dst 2.2.2.2", "\t\tproto esp reqid 1 mode tunnel", "\ttmpl src 1.1.1.1 dst 2.2.2.2", "\t\tproto esp reqid 1 mode tunnel"]), 15, 2,
     "at most 6 templates"),
  ]

  @Test(arguments: 0..<cases.count)
  func reportsLineAndColumn(_ number: Int) {
    let (name, input, line, column, expectation) = Self.cases[number]
    let error = xfReadError(input)
    #expect(error != nil, "\(name): no error")
    guard let error else { return }
    #expect(error.file == "test.txt", "\(name)")
    #expect(error.line == line, "\(name): \(error)")
    #expect(error.column == column, "\(name): \(error)")
    #expect(error.expected.contains(expectation), "\(name): \(error)")
  }
}

// MARK: - Live kernel

/// Whether this process may create network namespaces and run `ip` (root, `ip` present,
/// `ip netns add` works).
private enum LiveKernel {
  static let ipPath: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

  static let available: Bool = {
    guard getuid() == 0, ipPath != nil else { return false }
    let probe = "lookup-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard (try? run(["netns", "add", probe]))?.status == 0 else { return false }
    _ = try? run(["netns", "del", probe])
    return true
  }()

  struct Output {
    var status: Int32
    var standardOutput: String
    var standardError: String
  }

  static func run(_ arguments: [String]) throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ipPath ?? "/sbin/ip")
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Output(status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                  standardError: String(decoding: errData, as: UTF8.self))
  }
}

@Suite("IPXfrm live kernel")
struct IPXfrmLiveKernelTests {
  /// Ten policies with ties, marks, if_id, templates, ICMP, GRE, a device and explicit indexes.
  private static let policies: [Policy] = [
    Policy(selector: xfSelector("10.0.0.0/8", "192.168.1.0/24", proto: 6, sport: .exactly(1024), dport: .exactly(80)),
           priority: 100, direction: .out, templates: [xfTemplate("1.1.1.1", "2.2.2.2", reqid: 5, mode: .tunnel)],
           mark: MarkSelector(value: 0x10, mask: 0xFF), interfaceID: 7),
    Policy(selector: xfSelector("10.0.0.0/8", "192.168.1.0/24", proto: 6, sport: .exactly(1024), dport: .exactly(80)),
           priority: 100, direction: .out, mark: MarkSelector(value: 0, mask: 0xF00)),
    Policy(selector: xfSelector("2001:db8::/32", "2001:db8:1::1/128", proto: 58, sport: .exactly(128),
                              dport: .exactly(0)),
           priority: 7, direction: .fwd, templates: [xfTemplate("::", "::", reqid: 3, mode: .transport, optional: true)]),
    Policy(selector: xfSelector("10.1.2.3/16", "10.9.0.0/16", proto: 47, sport: .exactly(1), dport: .exactly(2),
                              ifindex: 1),
           priority: 5, index: 0x1000, direction: .in, action: .block),
    Policy(selector: xfSelector("10.1.0.0/16", "10.9.0.0/16", proto: 1, sport: .exactly(8), dport: .exactly(0)),
           priority: 2, direction: .out, type: .sub,
           templates: [xfTemplate("1.1.1.1", "2.2.2.2", .ah, spi: 0x1000, reqid: 9, mode: .tunnel),
                       xfTemplate("3.3.3.3", "4.4.4.4", reqid: 1, mode: .beet)]),
    Policy(selector: xfSelector("2001:db8:aa::/48", "::/0", proto: 135, sport: .exactly(5)), priority: 3,
           direction: .in, templates: [xfTemplate("2001:db8::5", "2001:db8::6", reqid: 6, mode: .tunnel, optional: true)]),
    Policy(selector: xfSelector("0.0.0.0/0", "0.0.0.0/0", proto: 200), priority: 1, index: 0x2000, direction: .in,
           templates: [xfTemplate("5.5.5.5", "6.6.6.6", .ipcomp, spi: 0x10, reqid: 2, mode: .tunnel)],
           mark: MarkSelector(value: 5, mask: 0xFFFF_FFFF)),
    Policy(selector: xfSelector("2001:db8::1/128", "2001:db8::2/128", proto: 17, dport: .exactly(4500)),
           priority: 4_294_967_295, direction: .out,
           templates: [xfTemplate("2001:db8::1", "2001:db8::2", spi: 0xC0FFEE, reqid: 4_294_967_295, mode: .tunnel)],
           interfaceID: 0x2A),
    Policy(selector: xfSelector("192.0.2.7/32", "198.51.100.0/24", dport: .exactly(53)), priority: 100,
           direction: .out),
    Policy(selector: xfSelector("192.0.2.0/24", "198.51.100.9/32", proto: 132, sport: .exactly(9)), priority: 100,
           direction: .fwd, action: .block),
  ]

  @Test(.enabled(if: LiveKernel.available, "needs root, ip and network namespaces"))
  func batchLoadsIntoTheKernelAndReadsBack() throws {
    let namespace = "lookup-xfrm-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    #expect(try LiveKernel.run(["netns", "add", namespace]).status == 0)
    defer { _ = try? LiveKernel.run(["netns", "del", namespace]) }
    let defaults = DefaultActions(inbound: .block, outbound: .allow, forward: .block)
    let batch = try IPXfrmWriter.batch(policies: Self.policies, defaultActions: defaults,
                                       interfaceName: { $0 == 1 ? "lo" : nil })
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(namespace).batch")
    try batch.write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }

    let load = try LiveKernel.run(["-n", namespace, "-batch", file.path])
    #expect(load.status == 0, "ip -batch failed: \(load.standardError)")

    let plain = try LiveKernel.run(["-n", namespace, "xfrm", "policy", "list"])
    let stats = try LiveKernel.run(["-n", namespace, "-s", "xfrm", "policy", "list"])
    let getDefault = try LiveKernel.run(["-n", namespace, "xfrm", "policy", "getdefault"])
    #expect(plain.status == 0 && stats.status == 0 && getDefault.status == 0)

    let read = try IPXfrmReader.read(plain.standardOutput + getDefault.standardOutput, file: "live",
                                     interfaces: ["lo": 1])
    let withoutIndexes = Self.policies.map { policy -> Policy in
      var copy = policy
      copy.index = 0
      return copy
    }
    #expect(read.policiesOldestFirst == withoutIndexes)
    #expect(read.defaultActions == defaults)

    // The -s form also shows indexes: the explicit ones must have been kept.
    let readStats = try IPXfrmReader.read(stats.standardOutput, file: "live-s", interfaces: ["lo": 1])
    #expect(readStats.policiesOldestFirst.count == Self.policies.count)
    for (loaded, original) in zip(readStats.policiesOldestFirst, Self.policies) {
      var comparable = loaded
      if original.index == 0 {
        #expect(loaded.index & 7 == UInt32(loaded.direction.rawValue))
        comparable.index = 0
      }
      #expect(comparable == original)
    }
    // The kernel's own text, re-printed by the writer, is what `ip` printed.
    #expect(IPXfrmWriter.dump(read, interfaceName: { $0 == 1 ? "lo" : nil })
              == plain.standardOutput + getDefault.standardOutput)
  }
}

// MARK: - Robustness

@Suite("IPXfrm reader robustness")
struct IPXfrmRobustnessTests {
  /// Every line cut at every position either reads or throws a FormatError on that line or later.
  @Test func truncatedLinesNeverCrash() {
    let lines = (realPlainDump + stateSamples).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    for (number, line) in lines.enumerated() {
      for cut in 0..<line.utf8.count {
        var copy = lines
        copy[number] = String(decoding: line.utf8.prefix(cut), as: UTF8.self)
        if let error = xfReadError(copy.joined(separator: "\n")) {
          #expect(error.line >= 1 && error.column >= 1)
        }
      }
    }
  }

  /// Random byte substitutions, insertions and deletions never crash the reader.
  @Test func mutatedInputNeverCrashes() {
    var random = SeededGenerator(seed: 0x1F0E)
    let alphabet = Array(" \t\n/:.x0123456789abcdefgz()-,".utf8)
    let original = Array((realStatsDump + stateStatsSamples + stateSamples + realDefaults).utf8)
    var errors = 0
    for _ in 0..<2000 {
      var bytes = original
      for _ in 0..<Int.random(in: 1...4, using: &random) {
        let position = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<3, using: &random) {
        case 0: bytes[position] = alphabet.randomElement(using: &random) ?? 0x20
        case 1: bytes.insert(alphabet.randomElement(using: &random) ?? 0x20, at: position)
        default: bytes.remove(at: position)
        }
      }
      if xfReadError(String(decoding: bytes, as: UTF8.self)) != nil { errors += 1 }
    }
    #expect(errors > 1000)  // most mutations are caught, none crashes
  }
}
