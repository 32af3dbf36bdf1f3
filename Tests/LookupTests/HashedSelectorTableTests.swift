import Testing
import Lookup

@Suite("HashedSelectorTable (kernel hthresh)")
struct HashedSelectorTableTests {
  @Test func thresholdsMapLocalAndRemoteByDirection() throws {
    let thresholds = try HashThresholds(ipv4Local: 24, ipv4Remote: 16, ipv6Local: 64, ipv6Remote: 48)
    let out = PolicyRule.context(family: .ipv4, direction: .out, type: .main)
    let inbound = PolicyRule.context(family: .ipv4, direction: .in, type: .main)
    let fwd6 = PolicyRule.context(family: .ipv6, direction: .fwd, type: .main)
    #expect(thresholds.bits(context: out) == (source: 24, destination: 16), "out: src local, dst remote")
    #expect(thresholds.bits(context: inbound) == (source: 16, destination: 24), "in: src remote, dst local")
    #expect(thresholds.bits(context: fwd6) == (source: 48, destination: 64))
    #expect(throws: LookupError.invalidPrefixLength(33, family: .ipv4)) { try HashThresholds(ipv4Local: 33) }
    #expect(throws: LookupError.invalidPrefixLength(129, family: .ipv6)) { try HashThresholds(ipv6Remote: 129) }
  }

  @Test func anExactHitDoesNotEndTheSearch() throws {
    var table = HashedSelectorTable()
    let host = try table.insert(Policy(selector: selector("10.0.0.1/32", "10.0.0.2/32"), priority: 50, direction: .out))
    #expect(table.statistics["exact hash entries"] == 1)
    let subnet = try table.insert(Policy(selector: selector("10.0.0.0/8", "10.0.0.0/8"), priority: 10, direction: .out))
    #expect(table.lookup(flow("10.0.0.1", "10.0.0.2")).index == subnet, "the inexact policy's better priority wins")
    try table.remove(subnet)
    #expect(table.lookup(flow("10.0.0.1", "10.0.0.2")).index == host)
  }

  /// Random sets under every threshold choice give the reference's answers, and moving the
  /// thresholds (re-filing every policy) changes no answer.
  @Test(arguments: [AddressFamily.ipv4, .ipv6])
  func agreesWithLinearUnderAnyThresholds(family: AddressFamily) throws {
    let choices: [HashThresholds] = [
      .kernelDefault, try HashThresholds(ipv4Local: 0, ipv4Remote: 0, ipv6Local: 0, ipv6Remote: 0),
      try HashThresholds(ipv4Local: 16, ipv4Remote: 24, ipv6Local: 32, ipv6Remote: 64),
      try HashThresholds(ipv4Local: 30, ipv4Remote: 8, ipv6Local: 126, ipv6Remote: 16),
    ]
    for seed in 1...6 as ClosedRange<UInt64> {
      var random = RandomPolicies(seed: seed &* 31 &+ UInt64(family.rawValue), family: family)
      var reference = LinearPolicyTable()
      var table = HashedSelectorTable(thresholds: choices[Int(seed) % choices.count])
      for _ in 0..<150 {
        let policy = random.policy()
        if let index = try? reference.insert(policy) {
          var stored = policy
          stored.index = index
          try table.insert(stored)
        }
      }
      let keys = (0..<400).map { _ in random.flow() }
      for thresholds in choices {
        table.setThresholds(thresholds)
        table.checkInvariants()
        for key in keys { #expect(table.lookup(key) == reference.lookup(key), "seed \(seed), \(thresholds)") }
      }
    }
  }
}
