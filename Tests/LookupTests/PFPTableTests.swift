import Testing
import Lookup

@Suite("PFP: populate-from-packet SAs, caps and ACQUIREs")
struct PFPTableTests {
  typealias Table = PFPTable<TupleSpaceTable>

  func pfpPolicy(_ flags: PFPFlags = .fourTuple, priority: UInt32 = 10) -> Policy {
    Policy(selector: selector("10.0.0.0/8", "192.168.0.0/16", proto: .number(6)), priority: priority, direction: .out,
           populateFromPacket: flags)
  }

  /// Drains the queue and binds an SA id (1000, 1001, …) to each ACQUIRE, as a key manager would.
  func answerAll(_ table: inout Table, nextID: inout UInt32) throws -> [PFPAcquire] {
    var answered: [PFPAcquire] = []
    while let acquire = table.nextAcquire() {
      try table.bind(acquire, to: nextID)
      nextID += 1
      answered.append(acquire)
    }
    return answered
  }

  @Test func derivesTheSAKeyFromTheFlaggedFieldsAndSendsOneACQUIREPerKey() throws {
    var table = Table(configuration: PFPConfiguration(capPerPolicy: nil))
    let index = try table.insert(pfpPolicy([.remoteAddress, .remotePort]))
    let a = flow("10.0.0.1", "192.168.1.1", sport: 1111, dport: 443)
    let sameKey = flow("10.0.0.2", "192.168.1.1", sport: 2222, dport: 443)  // local side differs: same SA
    let other = flow("10.0.0.1", "192.168.1.2", sport: 1111, dport: 443)
    #expect(table.lookup(a) == PFPLookupResult(policy: PolicyLookupResult(index: index, action: .allow), sa: 0, outcome: .missing))
    let r1 = table.resolve(a, now: 0)
    #expect(r1.outcome == .acquireSent)
    let r2 = table.resolve(sameKey, now: 0)
    #expect(r2.outcome == .acquirePending)
    let r3 = table.resolve(other, now: 0)
    #expect(r3.outcome == .acquireSent)
    let r4 = table.nextAcquire()
    let first = try #require(r4)
    #expect(first.policyIndex == index && !first.isWildcard && first.sequence == 1)
    #expect(first.selector == selector("10.0.0.0/8", "192.168.1.1/32", dport: .exactly(443), proto: .number(6)),
            "remote address and port from the packet, the rest from the policy")
    try table.bind(first, to: 77)
    #expect(table.lookup(sameKey).sa == 77 && table.lookup(sameKey).outcome == .instantiated)
    #expect(table.lookup(other).outcome == .missing)
    #expect(table.counters.acquiresSent == 2 && table.counters.acquiresSuppressed == 1)
  }

  @Test func inboundPoliciesTakeLocalFromTheDestination() throws {
    var table = Table()
    let policy = Policy(selector: selector("0.0.0.0/0", "10.0.0.0/8"), direction: .in, populateFromPacket: [.localAddress, .localPort])
    try table.insert(policy)
    let r5 = table.resolve(flow("1.2.3.4", "10.1.1.1", sport: 5, dport: 500, direction: .in), now: 0)
    #expect(r5.outcome == .acquireSent)
    let r6 = table.nextAcquire()
    let acquire = try #require(r6)
    #expect(acquire.selector == selector("0.0.0.0/0", "10.1.1.1/32", dport: .exactly(500)))
  }

  @Test func dscpFlagGivesOneSAPerClassIncludingZero() throws {
    var table = Table()
    try table.insert(pfpPolicy([.dscp]))
    var nextID: UInt32 = 1000
    for dscp: UInt8 in [0, 10, 46, 46, 0] {
      var f = flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 2)
      f.dscp = dscp
      _ = table.resolve(f, now: 0)
    }
    let acquires = try answerAll(&table, nextID: &nextID)
    #expect(acquires.map { $0.selector.dscp.value } == [0, 10, 46])
    var f = flow("10.0.0.9", "192.168.9.9", sport: 7, dport: 8)
    f.dscp = 46
    #expect(table.lookup(f).sa == 1002, "every flow of class 46 shares its SA")
  }

  @Test func capSendsTheWildcardACQUIREThenUsesTheWildcardSA() throws {
    var table = Table(configuration: PFPConfiguration(capPerPolicy: 2))
    let index = try table.insert(pfpPolicy())
    var nextID: UInt32 = 1000
    for port: UInt16 in 1...2 { _ = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80), now: 0) }
    _ = try answerAll(&table, nextID: &nextID)
    #expect(table.boundCount(policyIndex: index) == 2)
    // The third flow: the cap is reached, the ACQUIRE asks for the wildcard SA, once.
    let r7 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 3, dport: 80), now: 0)
    #expect(r7.outcome == .acquireSent)
    let r8 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 4, dport: 80), now: 0)
    #expect(r8.outcome == .acquirePending)
    let r9 = table.nextAcquire()
    let wildcard = try #require(r9)
    #expect(wildcard.isWildcard && wildcard.selector == pfpPolicy().selector)
    #expect(table.counters.acquiresCapped == 1)
    try table.bind(wildcard, to: 999)
    let r10 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 5, dport: 80), now: 0)
    #expect(r10
            == PFPLookupResult(policy: PolicyLookupResult(index: index, action: .allow), sa: 999, outcome: .wildcard))
    #expect(table.lookup(flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 80)).sa == 1000, "bound flows keep their SA")
    // A key manager that ignores the cap is refused with a typed error.
    var stray = wildcard
    stray.isWildcard = false
    stray.key = PFPKey(flow: flow("10.0.0.1", "192.168.0.1", sport: 9, dport: 80), policyIndex: index, flags: .fourTuple,
                       direction: .out)
    #expect(throws: LookupError.self) { try table.bind(stray, to: 5000) }
    #expect(table.counters.bindsRefused == 1)
    // Unbinding one SA frees a place under the cap.
    let r11 = table.unbind(1000)
    #expect(r11)
    let r12 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 6, dport: 80), now: 0)
    #expect(r12.outcome == .acquireSent)
    let r13 = table.nextAcquire()
    #expect(r13?.isWildcard == false)
  }

  @Test func larvalKeysExpireAndTheTableIsBounded() throws {
    var table = Table(configuration: PFPConfiguration(queueCapacity: 100, maximumLarval: 3, larvalLifetime: 10))
    try table.insert(pfpPolicy())
    for port: UInt16 in 1...5 { _ = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80), now: 0) }
    #expect(table.counters.acquiresSent == 3 && table.counters.larvalDrops == 2 && table.larvalCount == 3)
    let r14 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 80), now: 9)
    #expect(r14.outcome == .acquirePending)
    let r15 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 80), now: 10)
    #expect(r15.outcome == .acquireSent,
            "an expired larval key lets the ACQUIRE go again")
    let r16 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 4, dport: 80), now: 10)
    #expect(r16.outcome == .acquireSent,
            "expired keys are purged when the larval table is full")
    #expect(table.larvalCount <= 3)
  }

  @Test func queueIsBoundedAndDropsAreCounted() throws {
    var table = Table(configuration: PFPConfiguration(capPerPolicy: nil, queueCapacity: 4))
    try table.insert(pfpPolicy())
    for port: UInt16 in 1...10 { _ = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80), now: 0) }
    #expect(table.pendingAcquires == 4 && table.counters.queueDrops == 6 && table.counters.acquiresSent == 4)
    _ = table.nextAcquire()
    let r17 = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 10, dport: 80), now: 0)
    #expect(r17.outcome == .acquireSent)
  }

  @Test func aFloodOfDistinctFlowsStaysWithinEveryBound() throws {
    let configuration = PFPConfiguration(capPerPolicy: 64, queueCapacity: 256, maximumLarval: 512, larvalLifetime: 5)
    var table = Table(configuration: configuration)
    let index = try table.insert(pfpPolicy())
    var nextID: UInt32 = 1
    var rng = SeededGenerator(seed: 3)
    var refused = 0
    for step in 0..<100_000 {
      let f = flow("10.\(UInt8.random(in: 0...255, using: &rng)).0.1", "192.168.0.1",
                   sport: UInt16.random(in: 1...65535, using: &rng), dport: 80)
      _ = table.resolve(f, now: UInt64(step / 1000))
      if step % 97 == 0, let acquire = table.nextAcquire() {
        do { try table.bind(acquire, to: nextID); nextID += 1 } catch { refused += 1 }
      }
      if table.pendingAcquires > 256 || table.larvalCount > 512 {
        Issue.record("bound broken at step \(step)")
        return
      }
    }
    #expect(table.boundCount(policyIndex: index) <= 64)
    #expect(table.bindings.count <= 65)
    let c = table.counters
    #expect(c.resolves == 100_000)
    #expect(c.resolves == c.instantiatedHits + c.wildcardHits + c.spreadHits + c.acquiresSent + c.acquiresSuppressed + c.queueDrops + c.larvalDrops,
            "every resolve is accounted for")
    #expect(refused == c.bindsRefused)
  }

  @Test func removingAPolicyForgetsItsSAs() throws {
    var table = Table()
    let index = try table.insert(pfpPolicy())
    _ = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 80), now: 0)
    var nextID: UInt32 = 1
    _ = try answerAll(&table, nextID: &nextID)
    try table.remove(index)
    #expect(table.bindings.isEmpty && table.lookup(flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 80)).outcome == .notPFP)
    let r18 = table.unbind(1)
    #expect(r18 == false)
  }

  @Test func policiesWithoutFlagsAnswerAsTheSPD() throws {
    var table = Table()
    let plain = try table.insert(Policy(selector: selector("10.0.0.0/8", "0.0.0.0/0"), direction: .out))
    #expect(table.lookup(flow("10.0.0.1", "1.1.1.1")) == PFPLookupResult(
      policy: PolicyLookupResult(index: plain, action: .allow), sa: 0, outcome: .notPFP))
    let r19 = table.resolve(flow("10.0.0.1", "1.1.1.1"), now: 0)
    #expect(r19.outcome == .notPFP)
    #expect(table.counters.resolves == 0)
  }

  @Test func ipXfrmDumpsCarryTheFlagsAndBatchesRefuseThem() throws {
    let policy = pfpPolicy([.localAddress, .remotePort, .dscp])
    let text = IPXfrmWriter.dump(IPXfrmDump(policies: [policy]))
    #expect(text.contains("\tpfp local-addr remote-port dscp\n"))
    #expect(try IPXfrmReader.read(text, file: "pfp").policies == [policy])
    #expect(throws: IPXfrmWriteError.self) { try IPXfrmWriter.batch(policies: [policy]) }
    let bad = text.replacingOccurrences(of: "remote-port", with: "remote-prt")
    #expect(throws: FormatError.self) { try IPXfrmReader.read(bad, file: "pfp") }
  }

  @Test func pendingACQUIREsCountAgainstTheCap() throws {
    var table = Table(configuration: PFPConfiguration(capPerPolicy: 2))
    try table.insert(pfpPolicy())
    var outcomes: [PFPOutcome] = []
    var acquires: [PFPAcquire] = []
    for port: UInt16 in 1...4 {
      outcomes.append(table.resolve(flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80), now: 0).outcome)
      if let acquire = table.nextAcquire() { acquires.append(acquire) }
    }
    #expect(acquires.map(\.isWildcard) == [false, false, true], "two flow ACQUIREs pending reach the cap of 2")
    #expect(outcomes == [.acquireSent, .acquireSent, .acquireSent, .acquirePending])
  }

  /// An ACQUIRE that expires unanswered stops counting against the cap: a new flow after the
  /// expiry gets an ACQUIRE of its own, not the overflow rule.
  @Test func expiredACQUIREsStopCountingAgainstTheCap() throws {
    var table = Table(configuration: PFPConfiguration(capPerPolicy: 2, larvalLifetime: 30))
    try table.insert(pfpPolicy())
    for port: UInt16 in 1...2 {
      #expect(table.resolve(flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80), now: 0).outcome == .acquireSent)
    }
    while table.nextAcquire() != nil {}  // the key manager never answers
    let early = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 3, dport: 80), now: 10)
    #expect(early.outcome == .acquireSent && table.nextAcquire()?.isWildcard == true, "at the cap while both are pending")
    let late = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 4, dport: 80), now: 100)
    #expect(late.outcome == .acquireSent)
    #expect(table.nextAcquire()?.isWildcard == false, "the expired ACQUIREs no longer count")
  }

  @Test func bindRefusesACQUIREsOfARemovedOrReplacedPolicyAndInconsistentOnes() throws {
    var table = Table()
    let index = try table.insert(pfpPolicy())
    _ = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 80), now: 0)
    let next = table.nextAcquire()
    let acquire = try #require(next)
    var forged = acquire
    forged.isWildcard = true
    #expect(throws: LookupError.policyNotFound(index: index)) { try table.bind(forged, to: 5) }
    try table.remove(index)
    var again = pfpPolicy()
    again.index = index
    try table.insert(again)
    #expect(throws: LookupError.policyNotFound(index: index)) { try table.bind(acquire, to: 5) }
    #expect(table.bindings.isEmpty && table.counters.bindsRefused == 2)
  }

  @Test func keysOfDifferentFlowsDoNotCollideUnderEverySeed() {
    // Two keys whose small fields XOR to the same word (proto 6 vs 17, ports 1000 vs 1000^6^17).
    let tcp = PFPKey(source: 0, destination: 0, policyIndex: 9, sourcePort: 1000, destinationPort: 0, proto: 6, dscp: 0,
                     isWildcard: false)
    let udp = PFPKey(source: 0, destination: 0, policyIndex: 9, sourcePort: 1000 ^ 6 ^ 17, destinationPort: 0, proto: 17,
                     dscp: 0, isWildcard: false)
    #expect((1...50).contains { seed in tcp.seededHash(UInt64(seed)) != udp.seededHash(UInt64(seed)) })
    #expect(tcp.seededHash(1) != udp.seededHash(1))
  }

  @Test func batchesStayAtomicOverAFlowCache() throws {
    var table = PFPTable<FlowCache<TupleSpaceTable>>(spd: FlowCache(base: TupleSpaceTable(),
                                                                     configuration: try FlowCacheConfiguration()))
    let kept = try table.insert(pfpPolicy())
    let f = flow("10.0.0.1", "192.168.0.1", sport: 1, dport: 80)
    let before = table.lookup(f)
    #expect(throws: BatchUpdateError.self) {
      try table.applyAtomically([.remove(kept), .insert(Policy(selector: selector("10.0.0.0/8", "0.0.0.0/0"), direction: .out)),
                                 .remove(12345)])
    }
    #expect(table.lookup(f) == before && table.count == 1)
  }

  @Test func spreadOverflowHashesFlowsOntoTheCappedSAsStickily() throws {
    var table = Table(configuration: PFPConfiguration(capPerPolicy: 4, overflow: .spread))
    let index = try table.insert(pfpPolicy())
    var nextID: UInt32 = 100
    for port: UInt16 in 1...4 { _ = table.resolve(flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80), now: 0) }
    _ = try answerAll(&table, nextID: &nextID)
    #expect(table.boundCount(policyIndex: index) == 4)
    var perSA: [UInt32: Int] = [:]
    for port: UInt16 in 1000..<3000 {
      let f = flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80)
      let first = table.resolve(f, now: 0)
      #expect(first.outcome == .spread && (100..<104).contains(first.sa))
      #expect(table.lookup(f).sa == first.sa, "a flow keeps its SA")
      perSA[first.sa, default: 0] += 1
    }
    #expect(table.pendingAcquires == 0 && table.counters.acquiresCapped == 0, "no wildcard SA is asked for")
    #expect(perSA.count == 4 && perSA.values.allSatisfy { $0 > 300 }, "2000 flows spread over 4 SAs: \(perSA)")
    // Unbinding one SA keeps the ordinals dense: back at the cap with a new fourth SA, every
    // overflow flow is spread onto a bound SA (a hole left by the unbound one would leave
    // the flows that hash to it with none).
    let unbound = table.unbind(101)
    #expect(unbound)
    #expect(table.boundCount(policyIndex: index) == 3)
    #expect(table.resolve(flow("10.0.0.1", "192.168.0.1", sport: 5, dport: 80), now: 0).outcome == .acquireSent)
    _ = try answerAll(&table, nextID: &nextID)
    #expect(table.boundCount(policyIndex: index) == 4)
    var spreadOver: Set<UInt32> = []
    for port: UInt16 in 1000..<1200 {
      let result = table.lookup(flow("10.0.0.1", "192.168.0.1", sport: port, dport: 80))
      #expect(result.outcome == .spread && [100, 102, 103, 104].contains(result.sa), "\(result)")
      spreadOver.insert(result.sa)
    }
    #expect(spreadOver == [100, 102, 103, 104])
  }
}
