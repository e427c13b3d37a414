// What an owner recorded, in the database: its segment of the stream (rtms.segments) and the
// stream's transcript lines, chat messages and events (rtms.stream_items), written in the
// background with INSERT … ON CONFLICT DO NOTHING so that nothing is written twice, whoever
// delivered it. And the stream's summary.json (owners, gaps, counts), built from the database
// when a segment closes.
//
// On disk a stream is one folder with a segment per owner (`segmentDirectory`):
//   <out>/<stream id>/<segment>-<node>/   what that owner recorded (as `rtms record` writes a stream)
//   <out>/<stream id>/summary.json        every segment, its owner, the gaps between them
// The segment number is the claim's generation (the fencing token), so two owners never share a
// folder even on shared storage, and numbers may skip (a claim whose join failed records nothing).

import Crypto
import NIOConcurrencyHelpers
import RTMSClient
import RTMSProtocol
import RTMSSession

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One owner's part of a stream: feed it every item the client delivers (on any one thread).
public final class FleetSegment: @unchecked Sendable {
    public let streamID: String
    public let generation: Int64
    /// The segment's folder, and the stream's (which holds summary.json).
    public let directory: String
    public let streamDirectory: String
    /// Items kept while the database cannot take them; beyond this the oldest are dropped (counted).
    static let maxPending = 100_000

    private let lock = NIOLock()
    private var pending: [StreamItemRow] = []
    private var firstTS: Int64 = -1
    private var lastTS: Int64 = -1
    private var media: [String: Int64] = [:]
    private var dirty = true
    private var ended = false
    private var endNote = ""
    private var flushing = false
    private(set) var droppedItems = 0
    let urgent: @Sendable () -> Void

    init(streamID: String, generation: Int64, directory: String, streamDirectory: String, urgent: @escaping @Sendable () -> Void) {
        self.streamID = streamID
        self.generation = generation
        self.directory = directory
        self.streamDirectory = streamDirectory
        self.urgent = urgent
    }

    /// Takes note of one delivered item: media bounds and counts; transcript, chat and meeting
    /// events as rows (written within milliseconds: transcript and chat wake the writer).
    public func add(_ item: ClientEventItem) {
        var row: StreamItemRow? = nil
        switch item {
        case .media(let m):
            switch m.kind {
            case .transcript, .chat:
                let text = String(decoding: m.data, as: UTF8.self)
                let kind = m.kind == .transcript ? "transcript" : "chat"
                row = StreamItemRow(
                    kind: kind, ts: m.timestamp, userID: m.userID, contentSHA256: sha256Hex(Array(text.utf8)),
                    userName: m.userName, text: text, startTS: m.startTime, endTS: m.endTime,
                    language: m.language.map { Int64($0) } ?? -1, sequence: m.sequence ?? -1)
            default:
                break
            }
            lock.withLock {
                media[m.kind.key, default: 0] += 1
                if m.kind == .audio || m.kind == .video || m.kind == .deskshare, m.timestamp > 0 {
                    if firstTS < 0 || m.timestamp < firstTS { firstTS = m.timestamp }
                    lastTS = max(lastTS, m.timestamp)
                }
                dirty = true
            }
        case .control(.eventEx(let json)):
            let o = (try? JSON.parse(json))?.objectValue ?? [:]
            let user = o["user_id"]?.intValue ?? o["participants"]?.arrayValue?.first?["user_id"]?.intValue ?? 0
            row = StreamItemRow(
                kind: "event", ts: o["timestamp"]?.intValue ?? 0, userID: user,
                contentSHA256: sha256Hex(Array(json.utf8)), userName: o["user_name"]?.stringValue ?? "",
                eventType: o["event_type"]?.intValue ?? -1, body: json)
        case .control:
            return
        }
        guard let row else { return }
        lock.withLock {
            pending.append(row)
            if pending.count > Self.maxPending {
                droppedItems += pending.count - Self.maxPending
                pending.removeFirst(pending.count - Self.maxPending)
            }
        }
        if row.kind != "event" { urgent() }
    }

    /// The owner is done with this segment (the stream ended, was revoked or handed back).
    func end(note: String) {
        lock.withLock {
            guard !ended else { return }
            ended = true
            endNote = note
            dirty = true
        }
    }

    var isEnded: Bool { lock.withLock { ended } }

    /// Writes what is pending (rows, then the segment's row when it changed); one flush at a time.
    /// Rows that could not be written are kept for the next attempt. True when nothing is left.
    func flush(_ db: FleetDatabase, node: String, hostname: String, timeoutMs: Int) async throws -> (done: Bool, written: Int) {
        while true {
            let mine = lock.withLock { () -> Bool in
                if flushing { return false }
                flushing = true
                return true
            }
            if mine { break }
            await sleepMs(5)
        }
        defer { lock.withLock { flushing = false } }
        let (items, segment): ([StreamItemRow], SegmentRow?) = lock.withLock {
            let items = pending
            pending.removeAll()
            guard dirty else { return (items, nil) }
            dirty = false
            let m = JSON.string(.object(JSONObject(media.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.int($0.value)) })))
            return (
                items,
                SegmentRow(
                    streamID: streamID, generation: generation, node: node, hostname: hostname, directory: directory,
                    firstMediaTS: firstTS, lastMediaTS: lastTS, mediaJSON: m, ended: ended, endNote: endNote)
            )
        }
        var written = 0
        do {
            // The segment first: rows of a stream always have their owner's segment.
            if let segment { try await db.writeSegment(segment, timeoutMs: timeoutMs) }
            var rest = items[...]
            while !rest.isEmpty {
                let batch = Array(rest.prefix(1000))
                written += try await db.writeItems(batch, streamID: streamID, generation: generation, node: node, timeoutMs: timeoutMs)
                rest = rest.dropFirst(batch.count)
            }
        } catch {
            lock.withLock {
                // Rows of a batch that was written are written again: ON CONFLICT skips them.
                pending.insert(contentsOf: items, at: 0)
                if segment != nil { dirty = true }
            }
            throw error
        }
        return (lock.withLock { pending.isEmpty && !dirty }, written)
    }
}

func sha256Hex(_ bytes: [UInt8]) -> String { Signatures.hex(SHA256.hash(data: bytes)) }

extension FleetNode {
    /// Writes the open segments' rows in the background: at least every second, and at once when
    /// a transcript line or chat message arrives.
    func writerLoop() async {
        let host = hostName()
        while isRunningNow {
            await writeSignal.wait(milliseconds: 1000)
            for seg in openSegments where !seg.isEnded {
                do {
                    let (_, n) = try await seg.flush(db, node: config.nodeID, hostname: host, timeoutMs: config.queryTimeoutMs)
                    if n > 0 { metrics.rowsWritten.increment(by: n) }
                } catch {
                    metrics.rowWriteFailures.increment()
                    break
                }
            }
        }
    }

    /// Writes the last of an ended segment, then the stream's summary.json; retried while the
    /// database is unreachable (`attempts` times).
    func closeSegment(_ seg: FleetSegment, attempts: Int = 20) async {
        let host = hostName()
        var attempt = 0
        while true {
            do {
                let (done, n) = try await seg.flush(db, node: config.nodeID, hostname: host, timeoutMs: config.queryTimeoutMs)
                if n > 0 { metrics.rowsWritten.increment(by: n) }
                if done { break }
            } catch {
                metrics.rowWriteFailures.increment()
                attempt += 1
                if attempt >= attempts {
                    config.log("stream \(seg.streamID): segment \(seg.generation) not written (\(error))")
                    return
                }
                await sleepMs(min(5000, 250 << min(attempt, 4)))
            }
        }
        forgetSegment(seg)
        await writeStreamSummary(seg)
    }

    /// Where an owner records its segment: `<out>/<stream id>/<segment, 3 digits>-<node id>`.
    public static func segmentDirectory(out: String, streamID: String, generation: Int64, nodeID: String) -> String {
        let g = String(generation)
        return streamDirectory(out: out, streamID: streamID) + "/" + String(repeating: "0", count: max(0, 3 - g.count)) + g + "-" + safeName(nodeID)
    }

    public static func streamDirectory(out: String, streamID: String) -> String { out + "/" + safeName(streamID) }

    /// As the recorder names a stream's folder: letters, digits, '-' and '_' (others become '_'), 60 at most.
    static func safeName(_ s: String) -> String {
        let ok = s.unicodeScalars.map { c -> Character in
            (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_") ? Character(c) : "_"
        }
        let t = String(ok)
        return t.isEmpty ? "unknown" : String(t.prefix(60))
    }

    /// The stream's summary from the database: its segments (owners, in order), the gaps between
    /// them on the server's clock, the media counted over all segments, the rows stored, the end.
    func streamSummary(_ streamID: String) async throws -> JSONObject? {
        guard let text = try await db.streamRecord(streamID, timeoutMs: config.queryTimeoutMs),
            var o = (try? JSON.parse(text))?.objectValue
        else { return nil }
        let segments = o["segments"]?.arrayValue ?? []
        var owners: [JSONValue] = []
        var gaps: [JSONValue] = []
        var media: [String: Int64] = [:]
        var previous: JSONValue? = nil
        for s in segments {
            owners.append(.object(["segment": s["segment"] ?? .null, "node_id": s["node_id"] ?? .null]))
            for (k, v) in s["media"]?.objectValue?.pairs ?? [] { media[k, default: 0] += v.intValue ?? 0 }
            guard let first = s["first_media_ts"]?.intValue else { continue }
            if let p = previous, let last = p["last_media_ts"]?.intValue {
                gaps.append(
                    .object([
                        "after_segment": p["segment"] ?? .null, "before_segment": s["segment"] ?? .null,
                        "from_ts": .int(last), "to_ts": .int(first), "gap_ms": .int(first - last),
                    ]))
            }
            previous = s
        }
        o["owners"] = .array(owners)
        o["gaps"] = .array(gaps)
        o["media"] = .object(JSONObject(media.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue.object(["messages": .int($0.value)])) }))
        if let r = o["end_reason"]?.intValue {
            o["end"] = .object(["reason": .int(r), "name": .string(StopReason.name(Int(r))), "note": o["end_note"] ?? .null])
        }
        return o
    }

    /// Writes `<stream folder>/summary.json` (through a temporary file and rename: nodes sharing
    /// the folder never leave a half-written one).
    func writeStreamSummary(_ seg: FleetSegment) async {
        guard let s = try? await streamSummary(seg.streamID) else { return }
        let path = seg.streamDirectory + "/summary.json"
        let tmp = path + ".\(config.nodeID.hashValue & 0xFFFFFF)-\(getpid()).tmp"
        guard let f = fopen(tmp, "wb") else { return }
        let bytes = JSON.serialize(.object(s)) + [10]
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
        rename(tmp, path)
    }
}
