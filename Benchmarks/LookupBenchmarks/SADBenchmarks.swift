import Benchmark
import Lookup

// SAD, replay-window and PFP benchmarks. `Malloc (total)` must read 0 for every one of them.

/// 100,000 SAs with random SPIs on 16 local addresses, and 100,000 lookup keys hitting them.
func sadWorkload() -> (sas: [SecurityAssociation], keys: [SALookupKey]) {
  var rng = SplitMix64(seed: 1)
  var sas: [SecurityAssociation] = []
  var used = Set<UInt64>()
  while sas.count < 100_000 {
    let spi = UInt32.random(in: 256...UInt32.max, using: &rng)
    let host = UInt32.random(in: 1...16, using: &rng)
    guard used.insert(UInt64(spi) << 8 | UInt64(host)).inserted,
          let sa = try? SecurityAssociation(spi: spi, destination: IPAddress(ipv4: 0x0A00_0000 | host)) else { continue }
    sas.append(sa)
  }
  let keys = (0..<100_000).map { _ in
    let sa = sas[Int.random(in: 0..<sas.count, using: &rng)]
    return SALookupKey(destination: sa.destination, spi: sa.spi)
  }
  return (sas, keys)
}

func registerSADBenchmarks<D: SecurityAssociationDatabase>(_ name: String, _ make: () -> D) {
  let (sas, keys) = sadWorkload()
  var sad = make()
  for sa in sas {
    do { try sad.insert(sa) } catch { fatalError("\(name): \(error)") }
  }
  registerLookupBenchmarks("\(name) inbound, 100k SAs:", sad, keys: keys)
}

func registerReplayAndPFPBenchmarks() {
  let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal, .throughput]
  for size in [64, 4096] {
    Benchmark("ReplayWindow(\(size)) check and update of 100,000 numbers",
              configuration: .init(metrics: metrics, maxDuration: .seconds(2))) { benchmark in
      guard var window = try? ReplayWindow(size: size) else { fatalError("window size") }
      var next: UInt64 = 1
      benchmark.startMeasurement()  // the window's one allocation is not part of the figure
      for _ in benchmark.scaledIterations {
        var accepted = 0
        for i in 0..<UInt64(100_000) {
          // Every 100th number arrives 10 late.
          let number = i % 100 == 0 && next > 10 ? next - 10 : next
          if window.checkAndUpdate(number) == .accepted { accepted += 1 }
          next += 1
        }
        blackHole(accepted)
      }
    }
  }
  // PFP: one four-tuple policy with 64 bound flows; lookups of those flows.
  var table = PFPTable<TupleSpaceTable>()
  let flows = (0..<64).map { i in
    FlowKey(source: IPAddress(ipv4: 0x0A00_0001), destination: IPAddress(ipv4: 0xC0A8_0001), sourcePort: UInt16(1000 + i),
            destinationPort: 443, proto: 6, direction: .out)
  }
  do {
    try table.insert(Policy(selector: try PolicySelector(source: AddressPrefix(address: IPAddress(ipv4: 0x0A00_0000), length: 8),
                                                         destination: .any(.ipv4)),
                            direction: .out, populateFromPacket: .fourTuple))
    var id: UInt32 = 1
    for flow in flows {
      _ = table.resolve(flow, now: 0)
      while let acquire = table.nextAcquire() { try table.bind(acquire, to: id); id += 1 }
    }
  } catch { fatalError("PFP setup: \(error)") }
  Benchmark("PFPTable lookups of 64 bound flows × 1,000",
            configuration: .init(metrics: metrics, maxDuration: .seconds(2))) { benchmark in
    for _ in benchmark.scaledIterations {
      var checksum: UInt32 = 0
      for _ in 0..<1000 { for flow in flows { checksum &+= table.lookup(flow).sa } }
      blackHole(checksum)
    }
  }
}
