import FuzzSupport
import Glibc
import Lookup

// Fuzzes the `ip xfrm` dump reader: no crash; what it accepts is written back as a dump that
// reads back to the same policies, SAs and default actions; and the policies load into the
// radix tree and the hashed table with the same answers as linear for flows at their corners.

// The executable's entry: libFuzzer's driver, or corpus replay without the fuzzer runtime.
exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzOneInput(data, size) })

func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  guard let dump = try? IPXfrmReader.read(text, file: "fuzz") else { return 0 }
  let written = IPXfrmWriter.dump(dump)
  guard let again = try? IPXfrmReader.read(written, file: "rewritten") else {
    fatalError("the writer produced a dump its own reader refuses:\n\(written)")
  }
  precondition(again == dump, "a write/read round trip changed the dump:\n\(written)")
  let policies = Array(dump.policiesOldestFirst.prefix(64))
  guard let reference = try? LinearPolicyTable(inserting: policies) else { return 0 }
  guard let radix = try? RadixPolicyTree(inserting: policies), let hashed = try? HashedSelectorTable(inserting: policies)
  else { fatalError("linear accepted policies another structure refused") }
  for policy in policies {
    var flow = FlowKey(source: policy.selector.source.address, destination: policy.selector.destination.address,
                       sourcePort: policy.selector.sourcePort.low, destinationPort: policy.selector.destinationPort.high,
                       proto: policy.selector.proto.number ?? 6, direction: policy.direction, policyType: policy.type,
                       mark: policy.mark.value, interfaceID: policy.interfaceID, ifindex: policy.selector.ifindex)
    flow.dscp = policy.selector.dscp.value ?? 0
    let expected = reference.lookup(flow)
    precondition(radix.lookup(flow) == expected && hashed.lookup(flow) == expected, "a structure disagrees with linear")
  }
  return 0
}
