import Lookup

/// The repository's shipped data folder.
let shippedData: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)  // Tests/LookupTests/TestSupport.swift
  return parts.joined(separator: "/") + "/Data/classbench"
}()

/// Reproducible random tests: the library's SplitMix64 under the name the tests use.
typealias SeededGenerator = SplitMix64

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
