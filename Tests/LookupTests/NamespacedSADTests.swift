import Testing
import Lookup

@Suite("NamespacedSAD: per-VM SPI namespaces")
struct NamespacedSADTests {
  @Test func registryGivesDenseCollisionFreeIdsAndReusesReleasedOnes() throws {
    var registry = NamespaceRegistry(seed: 1)
    let a = try VirtualMachineIdentity(vlan: 10, macBytes: (0x52, 0x54, 0, 0x12, 0x34, 0x56))
    let b = try VirtualMachineIdentity(vlan: 11, macBytes: (0x52, 0x54, 0, 0x12, 0x34, 0x56))  // same MAC, other VLAN
    let c = try VirtualMachineIdentity(vlan: 10, mac: 0x5254_0012_3457)
    #expect(registry.register(a) == 1)
    #expect(registry.register(b) == 2)
    #expect(registry.register(c) == 3)
    #expect(registry.register(a) == 1, "registering twice gives the same namespace")
    #expect(registry.namespace(of: b) == 2)
    let released = registry.release(2)
    #expect(released)
    #expect(registry.namespace(of: b) == nil)
    let releasedTwice = registry.release(2)
    #expect(!releasedTwice)
    let d = try VirtualMachineIdentity(vlan: 4095, mac: 1)
    #expect(registry.register(d) == 2, "a released id is reused")
    #expect(registry.identity(of: 2) == d)
    #expect(throws: LookupError.invalidVLAN(4096)) { try VirtualMachineIdentity(vlan: 4096, mac: 1) }
  }

  @Test(arguments: InboundLookupMode.allCases)
  func sameSPIInManyNamespacesResolvesToEachOwnSA(mode: InboundLookupMode) throws {
    var sad = NamespacedSAD(inboundMode: mode, maximumPerNamespace: 8)
    var ids: [UInt32: UInt32] = [:]
    for vm in 1...200 {
      let namespace = sad.namespace(for: try VirtualMachineIdentity(vlan: vm % 7, mac: 0x0200_0000_0000 + UInt64(vm)))
      ids[namespace] = try sad.insert(try SecurityAssociation(spi: 0xC000_0001, destination: v4("10.0.0.1"), namespace: namespace))
    }
    #expect(sad.count == 200)
    for (namespace, id) in ids {
      #expect(sad.lookup(SALookupKey(destination: v4("10.0.0.1"), spi: 0xC000_0001, namespace: namespace)).id == id)
    }
    #expect(sad.lookup(SALookupKey(destination: v4("10.0.0.1"), spi: 0xC000_0001, namespace: 0)) == .none)
    sad.checkInvariants()
  }

  @Test func perNamespaceCapHoldsAndOtherNamespacesAreUnaffected() throws {
    var sad = NamespacedSAD(inboundMode: .kernel, maximumPerNamespace: 3)
    for spi in UInt32(0x1000)..<0x1003 { try sad.insert(try SecurityAssociation(spi: spi, destination: v4("10.0.0.1"), namespace: 5)) }
    #expect(throws: LookupError.namespaceFull(namespace: 5, limit: 3)) {
      try sad.insert(try SecurityAssociation(spi: 0x1003, destination: v4("10.0.0.1"), namespace: 5))
    }
    try sad.insert(try SecurityAssociation(spi: 0x1003, destination: v4("10.0.0.1"), namespace: 6))
    #expect(sad.count(inNamespace: 5) == 3 && sad.count(inNamespace: 6) == 1)
    let removed = sad.removeNamespace(5)
    #expect(removed.count == 3 && sad.count == 1)
    #expect(sad.lookup(SALookupKey(destination: v4("10.0.0.1"), spi: 0x1000, namespace: 5)) == .none)
    sad.checkInvariants()
  }

  @Test func allocatorHandsOutEveryFreeSPIOnceThenFailsWithATypedError() throws {
    var sad = NamespacedSAD(inboundMode: .kernel, maximumPerNamespace: 1000)
    var rng = SeededGenerator(seed: 9)
    let range: ClosedRange<UInt32> = 0x1000...0x103F  // 64 SPIs
    try sad.insert(try SecurityAssociation(spi: 0x1005, destination: v4("10.0.0.1"), namespace: 1))
    var seen = Set<UInt32>()
    for _ in 0..<63 {
      let spi = try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.1"), in: range, using: &rng)
      #expect(range.contains(spi) && spi != 0x1005)
      #expect(seen.insert(spi).inserted, "reserved SPIs are not handed out twice")
    }
    #expect(throws: LookupError.spiRangeExhausted(namespace: 1, low: 0x1000, high: 0x103F)) {
      try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.1"), in: range, using: &rng)
    }
    // Another destination, protocol or namespace has its own SPI space.
    #expect(throws: Never.self) { try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.2"), in: range, using: &rng) }
    #expect(throws: Never.self) { try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.1"), proto: .ah, in: range, using: &rng) }
    #expect(throws: Never.self) { try sad.allocateSPI(namespace: 2, destination: v4("10.0.0.1"), in: range, using: &rng) }
    // Releasing one reservation frees exactly that SPI; an SA consumes its reservation.
    let back = seen.first!
    let released = sad.releaseSPI(back, namespace: 1, destination: v4("10.0.0.1"))
    #expect(released)
    #expect(try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.1"), in: range, using: &rng) == back)
    let before = sad.reservationCount
    try sad.insert(try SecurityAssociation(spi: back, destination: v4("10.0.0.1"), namespace: 1))
    #expect(sad.reservationCount == before - 1)
    #expect(sad.isSPIInUse(back, namespace: 1, destination: v4("10.0.0.1")))
    sad.checkInvariants()
    // Bad ranges are typed errors.
    #expect(throws: LookupError.invalidSPIRange(low: 1, high: 0x1000)) {
      try sad.allocateSPI(namespace: 1, destination: nil, in: 1...0x1000, using: &rng)
    }
  }

  @Test func spiFormSAsBlockTheirSPIForEveryDestinationInRFC4301Mode() throws {
    var sad = NamespacedSAD(inboundMode: .rfc4301, maximumPerNamespace: 10)
    try sad.insert(try SecurityAssociation(spi: 0x2000, destination: v4("9.9.9.9"), namespace: 1, inboundMatch: .spi))
    #expect(sad.isSPIInUse(0x2000, namespace: 1, destination: v4("10.0.0.1")))
    #expect(sad.isSPIInUse(0x2000, namespace: 1, destination: nil))
    #expect(!sad.isSPIInUse(0x2000, namespace: 2, destination: nil))
    var rng = SeededGenerator(seed: 1)
    #expect(throws: LookupError.spiRangeExhausted(namespace: 1, low: 0x2000, high: 0x2000)) {
      try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.1"), in: 0x2000...0x2000, using: &rng)
    }
  }

  @Test func reservationsCountAgainstTheCapAndAreTakenByTheirSA() throws {
    var sad = NamespacedSAD(inboundMode: .kernel, maximumPerNamespace: 3)
    var rng = SeededGenerator(seed: 4)
    let any = try sad.allocateSPI(namespace: 1, destination: nil, using: &rng)
    _ = try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.1"), using: &rng)
    try sad.insert(try SecurityAssociation(spi: 0x9999, destination: v4("10.0.0.1"), namespace: 1))
    #expect(sad.occupancy(ofNamespace: 1) == 3)
    #expect(throws: LookupError.namespaceFull(namespace: 1, limit: 3)) {
      try sad.allocateSPI(namespace: 1, destination: v4("10.0.0.2"), using: &rng)
    }
    #expect(throws: LookupError.namespaceFull(namespace: 1, limit: 3)) {
      try sad.insert(try SecurityAssociation(spi: 0x9998, destination: v4("10.0.0.1"), namespace: 1))
    }
    // An SA with the SPI reserved for every destination takes that reservation's place.
    try sad.insert(try SecurityAssociation(spi: any, destination: v4("10.0.0.7"), namespace: 1))
    #expect(sad.reservationCount == 1 && sad.occupancy(ofNamespace: 1) == 3)
    sad.checkInvariants()
  }

  @Test func newVMsNeverGetANamespaceThatStillHasSAs() throws {
    var sad = NamespacedSAD(inboundMode: .kernel, maximumPerNamespace: 10)
    // SAs put straight into namespace 1 (no VM registered for it).
    try sad.insert(try SecurityAssociation(spi: 0x4444, destination: v4("10.0.0.1"), namespace: 1))
    let vm = sad.namespace(for: try VirtualMachineIdentity(vlan: 5, mac: 0xAB))
    #expect(vm != 1)
    #expect(sad.lookup(SALookupKey(destination: v4("10.0.0.1"), spi: 0x4444, namespace: vm)) == .none)
  }
}
