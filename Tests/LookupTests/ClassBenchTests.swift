import Testing
import Lookup

@Suite("ClassBench format")
struct ClassBenchTests {
  static let sets = ["acl1_1k", "fw1_1k", "ipc1_1k"]

  @Test(arguments: sets) func rulesAndTracesRoundTrip(set: String) throws {
    let rules = try ClassBenchFormat.readRules(path: "\(shippedData)/\(set).rules")
    let text = ClassBenchFormat.write(rules)
    #expect(try ClassBenchFormat.readRules(text) == rules)
    #expect(text.uppercased() == (try InputFile.text("\(shippedData)/\(set).rules")).uppercased(),
            "the writer reproduces the file (hex digits in upper case)")
    let trace = try ClassBenchFormat.readTrace(path: "\(shippedData)/\(set).trace")
    #expect(try ClassBenchFormat.readTrace(ClassBenchFormat.write(trace)) == trace)
    #expect(ClassBenchFormat.write(trace) == (try InputFile.text("\(shippedData)/\(set).trace")))
  }

  @Test func ruleCountsMatchTheDataSheet() throws {
    #expect(try ClassBenchFormat.readRules(path: "\(shippedData)/acl1_1k.rules").rules.count == 911)
    #expect(try ClassBenchFormat.readRules(path: "\(shippedData)/fw1_1k.rules").rules.count == 779)
    #expect(try ClassBenchFormat.readTrace(path: "\(shippedData)/ipc1_1k.trace").count == 9630)
  }

  /// The reference on acl1_1k: every answer is a rule at or before the generating rule and
  /// matches the header on the five fields; nothing earlier matches (checked directly).
  @Test(arguments: sets) func classifyAgreesWithTheGeneratingRule(set: String) throws {
    let rules = try ClassBenchFormat.readRules(path: "\(shippedData)/\(set).rules")
    let trace = try ClassBenchFormat.readTrace(path: "\(shippedData)/\(set).trace")
    let database = try LinearPolicyTable(inserting: rules.policies())
    #expect(database.count == rules.rules.count, "duplicates are kept (distinct mark masks)")
    func ruleMatches(_ r: ClassBenchRule, _ h: ClassBenchHeader) -> Bool {
      let s = UInt32(r.source.address.ipv4Value), d = UInt32(r.destination.address.ipv4Value)
      let sm: UInt32 = r.source.length == 0 ? 0 : ~0 << (32 - UInt32(r.source.length))
      let dm: UInt32 = r.destination.length == 0 ? 0 : ~0 << (32 - UInt32(r.destination.length))
      return (h.source & sm) == (s & sm) && (h.destination & dm) == (d & dm)
        && r.sourcePorts.contains(h.sourcePort) && r.destinationPorts.contains(h.destinationPort)
        && (r.protocolMask == 0 || r.protocolValue == h.proto)
    }
    var checkedEarlier = 0
    for (i, header) in trace.enumerated() {
      let answer = ClassBenchRuleSet.ruleNumber(policyIndex: database.lookup(header.flowKey()).index)
      #expect(answer >= 0 && answer <= header.generatingRule)
      #expect(ruleMatches(rules.rules[answer], header))
      if i % 7 == 0 {  // the first match really is the first: no earlier rule matches
        #expect(!rules.rules[..<answer].contains { ruleMatches($0, header) })
        checkedEarlier += 1
      }
    }
    #expect(checkedEarlier > 1000)
  }

  struct BadLine: Sendable, CustomStringConvertible {
    let text: String
    let line: Int
    let column: Int
    let expected: String
    var description: String { expected }
  }

  static let good = "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000\t"

  static let badRules: [BadLine] = [
    BadLine(text: "1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 1, expected: "'@'"),
    BadLine(text: "@1.2.3/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 2, expected: "address prefix"),
    BadLine(text: "@1.2.3.0/33\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 10, expected: "prefix length 0...32"),
    BadLine(text: "@1.2.3.0\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 9, expected: "'/'"),
    BadLine(text: "@::1/128\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 2, expected: "source prefix"),
    BadLine(text: "@1.2.3.0/24\t5.6.7.8/32\t0 : 65536\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 28, expected: "high end"),
    BadLine(text: "@1.2.3.0/24\t5.6.7.8/32\t9 : 8\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 24, expected: "low <= high"),
    BadLine(text: "@1.2.3.0/24\t5.6.7.8/32\t0 - 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000", line: 2, column: 26, expected: "':'"),
    BadLine(text: "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0x0F\t0x0000/0x0000", line: 2, column: 42, expected: "0xPP/0xFF or 0x00/0x00"),
    BadLine(text: "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t6/0xFF\t0x0000/0x0000", line: 2, column: 42, expected: "protocol value"),
    BadLine(text: "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF", line: 2, column: 51, expected: "flags"),
    BadLine(text: "@1.2.3.0/24\t5.6.7.8/32\t0 : 65535\t80 : 80\t0x06/0xFF\t0x0000/0x0000\textra", line: 2, column: 66, expected: "end of the rule"),
    BadLine(text: "", line: 2, column: 1, expected: "a rule starting with '@'"),
  ]

  @Test(arguments: badRules) func malformedRuleLinesReportTheirPosition(bad: BadLine) {
    // The bad line sits between two good ones; nothing is returned, the error says where.
    let text = Self.good + "\n" + bad.text + "\n" + Self.good + "\n"
    do {
      let rules = try ClassBenchFormat.readRules(text, file: "bad.rules")
      Issue.record("accepted a bad line: \(rules.rules.count) rules")
    } catch {
      #expect(error.file == "bad.rules")
      #expect(error.line == bad.line, "\(error)")
      #expect(error.column == bad.column, "\(error)")
      #expect(error.expected.contains(bad.expected), "\(error)")
    }
  }

  static let badTraces: [BadLine] = [
    BadLine(text: "1\t2\t3\t4\t5\t6", line: 1, column: 12, expected: "a tab before the rule index"),
    BadLine(text: "4294967296\t2\t3\t4\t5\t6\t7", line: 1, column: 1, expected: "source address"),
    BadLine(text: "1\t2\t3\t70000\t5\t6\t7", line: 1, column: 7, expected: "destination port"),
    BadLine(text: "1\t2\t3\t4\t256\t6\t7", line: 1, column: 9, expected: "protocol"),
    BadLine(text: "1\t2\tx\t4\t5\t6\t7", line: 1, column: 5, expected: "source port"),
    BadLine(text: "1\t2\t3\t4\t5\t6\t7\t8", line: 1, column: 15, expected: "end of the header"),
  ]

  @Test(arguments: badTraces) func malformedTraceLinesReportTheirPosition(bad: BadLine) {
    do {
      _ = try ClassBenchFormat.readTrace(bad.text + "\n", file: "bad.trace")
      Issue.record("accepted a bad trace line")
    } catch {
      #expect(error.line == bad.line && error.column == bad.column, "\(error)")
      #expect(error.expected.contains(bad.expected), "\(error)")
    }
  }

  @Test func unreadableFilesAreTypedErrors() {
    #expect(throws: FileReadError(path: "/nonexistent/x.rules", reason: "no such file")) {
      try ClassBenchFormat.readRules(path: "/nonexistent/x.rules")
    }
    #expect(throws: FileReadError(path: "/", reason: "is a directory")) { try ClassBenchFormat.readTrace(path: "/") }
  }

  /// A rule made (or changed) by a caller with a non-IPv4 prefix is refused, not turned
  /// into a match-everything policy.
  @Test func rulesThatAreNotIPv4AreRefused() throws {
    var rules = try ClassBenchFormat.readRules(Self.good + "\n")
    rules.rules[0].destination = try AddressPrefix(address: v6("2001:db8::"), length: 32)
    #expect(throws: LookupError.familyMismatch) { try rules.policies() }
  }

  /// Anything `open` and `read` accept is read — a character device here, as a pipe or a
  /// FIFO would be (`FileManager.contents(atPath:)` refused them as "unreadable").
  @Test func nonRegularFilesAreRead() throws {
    #expect(try InputFile.bytes("/dev/null").isEmpty)
    #expect(try ClassBenchFormat.readRules(path: "/dev/null").rules.isEmpty)
  }

  /// Control bytes in the text an error quotes are escaped: a carriage return (old Mac line
  /// ends) or a NUL cannot garble the message on a terminal.
  @Test func errorsQuoteControlBytesEscaped() {
    let line = Self.good + "\r\r" + Self.good
    do {
      _ = try ClassBenchFormat.readRules(line + "\n")
      Issue.record("a line with two rules and carriage returns was accepted")
    } catch {
      #expect(error.found.hasPrefix("'\\r\\r@"), "\(error.found)")
      #expect(!error.description.contains("\r"))
    }
    #expect(LineScanner.printable(Array("a\u{0}b\u{7F}\u{FEFF}c".utf8)) == "a\\x00b\\x7F\\u{FEFF}c")
  }

  @Test func policiesOfARuleSetKeepEveryDuplicate() throws {
    let rules = try ClassBenchFormat.readRules(Self.good + "\n" + Self.good.replacingOccurrences(of: "0x0000/0x0000", with: "0x1000/0x1000") + "\n")
    let policies = try rules.policies()
    #expect(policies.map(\.mark) == [.any, MarkSelector(value: 0, mask: 1)])
    let database = try LinearPolicyTable(inserting: policies)
    #expect(ClassBenchRuleSet.ruleNumber(policyIndex: database.lookup(
      ClassBenchHeader(source: 0x0102_0305, destination: 0x0506_0708, sourcePort: 1, destinationPort: 80, proto: 6).flowKey()).index) == 0)
  }
}
