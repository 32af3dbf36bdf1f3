import Lookup

/// The repository's shipped data folder.
let shippedData: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)  // Tests/LookupTests/TestSupport.swift
  return parts.joined(separator: "/") + "/Data/classbench"
}()

/// A small, fast, seedable generator (SplitMix64) so random tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

func v4(_ text: String) -> IPAddress { IPAddress(parsing: text)! }
func v6(_ text: String) -> IPAddress { IPAddress(parsing: text)! }
func prefix(_ text: String) -> AddressPrefix {
  let parts = text.split(separator: "/")
  return try! AddressPrefix(address: IPAddress(parsing: String(parts[0]))!, length: Int(parts[1])!)
}

/// A selector from text prefixes, for readable tests.
func selector(_ source: String, _ destination: String, sport: PortSelector = .any, dport: PortSelector = .any,
              proto: ProtocolSelector = .any, ifindex: UInt32 = 0) -> PolicySelector {
  try! PolicySelector(source: prefix(source), destination: prefix(destination), sourcePort: sport,
                      destinationPort: dport, proto: proto, ifindex: ifindex)
}

func flow(_ source: String, _ destination: String, sport: UInt16 = 0, dport: UInt16 = 0, proto: UInt8 = 6,
          direction: PolicyDirection = .out, mark: UInt32 = 0, ifID: UInt32 = 0, ifindex: UInt32 = 0,
          type: PolicyType = .main) -> FlowKey {
  FlowKey(source: IPAddress(parsing: source)!, destination: IPAddress(parsing: destination)!, sourcePort: sport,
          destinationPort: dport, proto: proto, direction: direction, policyType: type, mark: mark,
          interfaceID: ifID, ifindex: ifindex)
}
