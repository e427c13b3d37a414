// rtms_group_set_media_batch: a group poll's media messages, gathered for one callback.

import CRTMS
import RTMSProtocol

/// The media messages of one group poll, gathered for one call of the batch callback
/// (rtms_group_set_media_batch). Used by the polling thread only; its buffers are kept between
/// polls, so a steady stream of batches allocates nothing.
final class MediaBatch {
    typealias Callback = @convention(c) (UnsafePointer<rtms_media_batch>?, UnsafeMutableRawPointer?) -> Void

    /// A batch is delivered once it holds this many messages or bytes.
    static let maxItems = 256
    static let maxBytes = 1 << 20

    private struct Entry {
        let handle: Handle
        let kind: Int32
        let dataOffset: Int, size: Int
        let nameOffset: Int, nameLength: Int
        let channelOffset: Int, channelLength: Int
        let timestamp: Int64, start: Int64, end: Int64
        let userID: Int64, language: Int
    }

    let callback: Callback
    let userData: UnsafeMutableRawPointer?
    private var entries: [Entry] = []
    private var bytes: [UInt8] = []
    private var items: [rtms_media_item] = []
    private var pinned: [Handle] = []

    init(callback: @escaping Callback, userData: UnsafeMutableRawPointer?) {
        self.callback = callback
        self.userData = userData
    }

    /// Copies one message in; delivers the batch when it is full.
    func append(_ h: Handle, _ m: MediaData) {
        let dataOffset = bytes.count
        bytes.append(contentsOf: m.data)
        let nameOffset = bytes.count
        bytes.append(contentsOf: m.userName.utf8)
        bytes.append(0)
        let channelOffset = bytes.count
        let channel = m.channelID ?? ""
        bytes.append(contentsOf: channel.utf8)
        bytes.append(0)
        entries.append(
            Entry(
                handle: h, kind: Int32(m.kind.rawValue), dataOffset: dataOffset, size: m.data.count,
                nameOffset: nameOffset, nameLength: channelOffset - nameOffset - 1,
                channelOffset: channelOffset, channelLength: bytes.count - channelOffset - 1,
                timestamp: m.timestamp, start: m.startTime, end: m.endTime, userID: m.userID, language: m.language ?? -1))
        if entries.count >= Self.maxItems || bytes.count >= Self.maxBytes { flush() }
    }

    /// Hands what was gathered to the callback (nothing when empty or when every message's handle
    /// was released meanwhile).
    func flush() {
        guard !entries.isEmpty else { return }
        bytes.withUnsafeBufferPointer { all in
            let base = all.baseAddress!
            // A run of one handle's messages is checked and pinned once (its C struct outlives
            // the call, even if the handle is released meanwhile).
            var run: Handle? = nil
            var runLive = false
            for e in entries {
                if e.handle !== run {
                    run = e.handle
                    runLive = !e.handle.isReleased
                    if runLive {
                        e.handle.pin()
                        pinned.append(e.handle)
                    }
                }
                guard runLive else { continue }
                items.append(
                    rtms_media_item(
                        sdk: e.handle.sdk, data: base + e.dataOffset,
                        user_name: UnsafeRawPointer(base + e.nameOffset).assumingMemoryBound(to: CChar.self),
                        channel_id: UnsafeRawPointer(base + e.channelOffset).assumingMemoryBound(to: CChar.self),
                        timestamp: UInt64(bitPattern: e.timestamp), start_ts: UInt64(bitPattern: e.start),
                        end_ts: UInt64(bitPattern: e.end), size: Int32(clamping: e.size), media_type: e.kind,
                        user_id: Int32(truncatingIfNeeded: e.userID), language: Int32(clamping: e.language),
                        user_name_len: Int32(clamping: e.nameLength), channel_id_len: Int32(clamping: e.channelLength)))
            }
            guard !items.isEmpty else { return }
            items.withUnsafeBufferPointer { list in
                var batch = rtms_media_batch(items: list.baseAddress, count: Int32(list.count), bytes: base, bytes_len: all.count)
                ThreadPolls.entered()
                callback(&batch, userData)
                ThreadPolls.exited()
            }
        }
        for h in pinned { h.unpin() }
        pinned.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
        // A burst's large buffer goes; the usual size stays.
        bytes.removeAll(keepingCapacity: bytes.capacity <= 4 * Self.maxBytes)
    }
}
