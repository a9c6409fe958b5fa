//! Who is on the other end of a loopback TCP connection to one of ssotray's servers (the
//! credential servers, the login's callback listener).
//!
//! Linux: one `sock_diag` request over netlink names the exact socket (the client's end: its
//! local address and port, the server's address and port) and the kernel answers with that one
//! socket's owner. The cost does not depend on how many other sockets the machine has (reading
//! `/proc/net/tcp` did: another user's 100 000 TIME_WAIT sockets made every look-up take 0.4 s).
//! A socket bound to a device (`SO_BINDTODEVICE`, unprivileged since Linux 5.7) is found only when
//! asked with that device, so a socket not found without one is asked for again on `lo`, the one
//! device a socket can be bound to and still reach a loopback address.
//!
//! Windows: the TCP table with each socket's owning process (`GetExtendedTcpTable`), and that
//! process's token.
//!
//! macOS: libproc, as `lsof` does. The user's own processes (`proc_listpids(PROC_UID_ONLY)`) are
//! searched for the one TCP socket whose local end is the client and whose far end is the
//! server. A process of another user cannot be looked into without root, so a connection found
//! in none of the user's processes is [`Peer::Unknown`], and refused like another user's. The
//! cost grows with the user's processes and their sockets (a few hundred system calls per scan
//! on a typical Mac; not measured here, where nothing for macOS can run).
//!
//! Every server asks in the connection's own task, off the async runtime's threads
//! ([`tcp_peer_off_loop`]), never on its accept loop; on macOS and Windows one scan of the tables
//! answers every connection asked about before it started ([`SharedScans`]), so a flood of
//! connections costs a scan per scan time, not one per connection.
//!
//! What is refused, per OS ([`only_mine`], [`UNKNOWN_MAY_BE_ANOTHER_USER`],
//! [`names_owners_here`]): wherever only the user's own connections belong (the callback
//! listener, `exec`'s servers, IMDS), another user's connection and one the OS cannot name are
//! closed before they hold a slot, on every OS that names owners. Where the OS names none (Wine;
//! a Unix without a look-up), IMDS is not served and the unnamed connections get slots of their
//! own, apart from the user's.
//!
//! The design limit, said plainly: the owner of a socket is the user whose process opened it. A
//! process of the same user that forwards TCP (an SSH tunnel, `socat`, a browser's proxy) makes
//! its peers look like that user; they get what the user gets.
//!
//! On Linux the request goes over rustix's netlink socket with netlink-packet-sock-diag's messages.
//! The answer is `Peer::{Me, Other(UserId), Unknown}`. Where the OS names no owner at all
//! (`names_owners_here`, asked once of a connection to itself: false under Wine and on other Unix),
//! every peer is `Unknown`: `credserver::may_serve` refuses IMDS with a message, and the other
//! servers give unnamed connections slots of their own (`only_mine`).
//!
//! Unsafe code is allowed here (each block with a `SAFETY` comment) only for the Windows TCP table
//! and macOS libproc, whose socket records are declared here with compile-time size checks against
//! the header.

use crate::platform::user::UserId;
use std::net::{IpAddr, SocketAddr};

/// Whose connection this is, as far as the platform can tell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Peer {
    /// A process of the user ssotray runs as.
    Me,
    /// Another user's process.
    Other(UserId),
    /// The platform could not tell.
    Unknown,
}

/// Whether this platform can tell who owns a loopback connection (Linux: `sock_diag`; Windows:
/// the TCP table's owning process and its token; macOS: the user's processes' sockets, by
/// libproc). Where it cannot (the BSDs, say), every peer is [`Peer::Unknown`], and a server
/// that must know (IMDS) is not started.
pub const CAN_TELL: bool = cfg!(any(target_os = "linux", target_os = "macos", windows));

/// What [`Peer::Unknown`] means on this OS, where the OS names owners ([`names_owners_here`]).
/// Linux names every socket's owner (`sock_diag`): a connection it cannot name is one whose
/// socket hid from the look-up (or closed before it), refused everywhere. On macOS only the
/// user's own processes can be looked into, and on Windows another user's process cannot be
/// opened to read its user, so there `Unknown` is how another user's connection shows: refused
/// wherever only the user's own connections belong, and counted as one more other user, under
/// that cap, by the long-running container server.
pub const UNKNOWN_MAY_BE_ANOTHER_USER: bool = !cfg!(target_os = "linux");

/// Whether the OS names the owners of loopback connections here: asked once per process, of a
/// connection this process makes to itself. It does on Linux, macOS and Windows; it does not
/// where the look-up is missing or reports nothing (Wine reports no owning process; another
/// Unix has no look-up; a sandbox may forbid it). Where it does not, every connection is
/// [`Peer::Unknown`]: IMDS, which has nothing else to go by, is not served
/// (the credential server's `may_serve`), and the other servers admit `Unknown` to slots of its
/// own, never the user's (their tokens and the login's `state` still decide what is answered).
/// Blocks for a moment the first time: call it off the async runtime's threads.
pub fn names_owners_here() -> bool {
    static NAMES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NAMES.get_or_init(|| {
        let Ok(listener) = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)) else {
            return false;
        };
        let Ok(server) = listener.local_addr() else {
            return false;
        };
        let Ok(client) = std::net::TcpStream::connect(server) else {
            return false;
        };
        let _accepted = listener.accept();
        client
            .local_addr()
            .is_ok_and(|me| tcp_peer(me, server) == Peer::Me)
    })
}

/// Which slots a connection takes where only the user's own connections belong (the login's
/// callback listener, `exec`'s servers): the user's own, or (only where the OS names no owner
/// at all) the unnamed ones, apart from the user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnlyMine {
    /// The user's connection.
    Mine,
    /// A connection the OS cannot name, where it names none.
    Unnamed,
}

/// Whether a connection of `peer` is admitted where only the user's own connections belong,
/// and to which slots: another user's never; one the OS cannot name only where it names none
/// ([`names_owners_here`]).
pub fn only_mine(peer: &Peer) -> Option<OnlyMine> {
    match peer {
        Peer::Me => Some(OnlyMine::Mine),
        Peer::Other(_) => None,
        Peer::Unknown => (!names_owners_here()).then_some(OnlyMine::Unnamed),
    }
}

/// The owner of the connection whose client end is `client` and whose server end is `server`.
pub fn tcp_peer(client: SocketAddr, server: SocketAddr) -> Peer {
    match tcp_owner(client, server) {
        Some(user) if user == crate::platform::user::me() => Peer::Me,
        Some(user) => Peer::Other(user),
        None => Peer::Unknown,
    }
}

/// [`tcp_peer`] off the async runtime's worker threads, as every server asks it, in the task of
/// the connection it is asked for (never on an accept loop): the look-up reads the OS's tables,
/// and on macOS and Windows its cost grows with the user's processes or the machine's
/// connections. There each table scan is shared by every look-up asked before it started
/// ([`SharedScans`]), so a flood of connections costs a scan per scan time, not one per
/// connection, and the servers go on accepting meanwhile.
pub async fn tcp_peer_off_loop(client: SocketAddr, server: SocketAddr) -> Peer {
    tokio::task::spawn_blocking(move || {
        // Asked here, off the runtime, so the servers' policies never block on it. Where the OS
        // names no owner (Wine: its TCP table is read from the host's whole `/proc/net/tcp`, and
        // names no process), nothing is looked up: every connection is unnamed anyway.
        if names_owners_here() {
            tcp_peer(client, server)
        } else {
            Peer::Unknown
        }
    })
    .await
    .unwrap_or(Peer::Unknown)
}

/// Table scans shared among look-ups: a look-up uses the newest scan that started after it was
/// asked (one that started before could miss its connection), and waits for one if there is
/// none, so the look-ups that arrive during a scan are all answered by the next one.
#[derive(Debug)]
pub struct SharedScans<T> {
    last: std::sync::Mutex<Option<(std::time::Instant, std::sync::Arc<T>)>>,
}

impl<T> Default for SharedScans<T> {
    fn default() -> Self {
        SharedScans {
            last: std::sync::Mutex::new(None),
        }
    }
}

impl<T> SharedScans<T> {
    /// A scan that started at or after `asked`: the last one, or `scan()` now (blocks while
    /// another look-up scans; call from a blocking thread).
    pub fn since(&self, asked: std::time::Instant, scan: impl FnOnce() -> T) -> std::sync::Arc<T> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((started, table)) = last.as_ref() {
            if *started >= asked {
                return table.clone();
            }
        }
        let started = std::time::Instant::now();
        let table = std::sync::Arc::new(scan());
        *last = Some((started, table.clone()));
        table
    }
}

/// The user owning the TCP socket with local address `client` connected to `server`, from the
/// kernel (`None` when it cannot tell, or there is no such socket).
pub fn tcp_owner(client: SocketAddr, server: SocketAddr) -> Option<UserId> {
    let asked = std::time::Instant::now();
    // A client on an IPv4 socket is found as AF_INET; one on a dual-stack IPv6 socket (Java,
    // .NET) that reached 127.0.0.1 is an AF_INET6 socket with `::ffff:127.0.0.1` addresses.
    let v4 = |a: SocketAddr| match a.ip() {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(|v4| SocketAddr::new(IpAddr::V4(v4), a.port())),
        IpAddr::V4(_) => Some(a),
    };
    let v6 = |a: SocketAddr| match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    };
    let mut tries = Vec::with_capacity(2);
    if let (Some(c), Some(s)) = (v4(client), v4(server)) {
        tries.push((c, s));
    }
    tries.push((v6(client), v6(server)));
    tries.into_iter().find_map(|(c, s)| owner(c, s, asked))
}

#[cfg(target_os = "linux")]
fn owner(client: SocketAddr, server: SocketAddr, _asked: std::time::Instant) -> Option<UserId> {
    // The exact look-up matches a socket bound to a device (`SO_BINDTODEVICE`, unprivileged
    // since Linux 5.7) only when asked with that device: a client bound to `lo` is found only
    // with `lo`'s index, the interface every loopback connection arrives on (and the only one a
    // socket can be bound to and still reach a loopback address). Not found either way: not
    // known, and refused wherever only the user's own connections belong.
    [0, sock_diag::LOOPBACK_INTERFACE]
        .into_iter()
        .find_map(|interface| sock_diag::owner(client, server, interface).ok().flatten())
        .map(UserId::from_uid)
}

#[cfg(windows)]
fn owner(client: SocketAddr, server: SocketAddr, asked: std::time::Instant) -> Option<UserId> {
    tcp_table::owning_process(client, server, asked).and_then(crate::platform::user::of_process)
}

/// `a` with an IPv4-mapped IPv6 address taken as the IPv4 address it maps.
#[cfg(target_os = "macos")]
fn canonical(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(a, |v4| SocketAddr::new(IpAddr::V4(v4), a.port())),
        IpAddr::V4(_) => a,
    }
}

#[cfg(target_os = "macos")]
fn owner(client: SocketAddr, server: SocketAddr, asked: std::time::Instant) -> Option<UserId> {
    let me = crate::platform::user::me();
    libproc::held_by_user(me.uid(), client, server, asked).then_some(me)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn owner(_client: SocketAddr, _server: SocketAddr, _asked: std::time::Instant) -> Option<UserId> {
    None
}

#[cfg(target_os = "linux")]
mod sock_diag {
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
    use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
    use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
    use netlink_packet_sock_diag::SockDiagMessage;
    use rustix::net::netlink::{SocketAddrNetlink, SOCK_DIAG};
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
    use std::io;
    use std::net::SocketAddr;

    /// The loopback device's index: `lo` is the first device of every network namespace
    /// (`LOOPBACK_IFINDEX` in the kernel).
    pub(super) const LOOPBACK_INTERFACE: u32 = 1;

    /// One exact look-up (no dump) of the socket bound to `interface` (0: to none): `Ok(None)`
    /// when the kernel knows no such socket.
    pub(super) fn owner(
        client: SocketAddr,
        server: SocketAddr,
        interface: u32,
    ) -> io::Result<Option<u32>> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            Some(SOCK_DIAG),
        )?;
        // The kernel answers at once; a look-up never waits for ever (an answer lost to memory
        // pressure would otherwise hold the connection's task and its slot).
        rustix::net::sockopt::set_socket_timeout(
            &fd,
            rustix::net::sockopt::Timeout::Recv,
            Some(std::time::Duration::from_secs(2)),
        )?;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST;
        let mut message = NetlinkMessage::new(
            header,
            SockDiagMessage::InetRequest(InetRequest {
                family: if client.is_ipv4() { AF_INET } else { AF_INET6 },
                protocol: IPPROTO_TCP,
                extensions: ExtensionFlags::empty(),
                states: StateFlags::all(),
                socket_id: SocketId {
                    source_port: client.port(),
                    destination_port: server.port(),
                    source_address: client.ip(),
                    destination_address: server.ip(),
                    interface_id: interface,
                    // INET_DIAG_NOCOOKIE: match by the addresses alone.
                    cookie: [0xff; 8],
                },
            })
            .into(),
        );
        message.finalize();
        let mut request = vec![0; message.buffer_len()];
        message.serialize(&mut request);
        rustix::net::sendto(
            &fd,
            &request,
            SendFlags::empty(),
            &SocketAddrNetlink::new(0, 0),
        )?;
        let mut answer = vec![0u8; 8192];
        let (n, _) = rustix::net::recv(&fd, &mut answer[..], RecvFlags::empty())?;
        let reply = NetlinkMessage::<SockDiagMessage>::deserialize(&answer[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        match reply.payload {
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                Ok(Some(r.header.uid))
            }
            // An error (ENOENT: no such socket) or anything else: not known.
            _ => Ok(None),
        }
    }
}

/// Windows: the TCP table with each socket's owning process (`GetExtendedTcpTable`). The table
/// is read whole, once per accepted connection; a loopback server's client is found by its
/// exact local and remote address.
#[cfg(windows)]
#[allow(unsafe_code)] // Win32 calls: each block says why it is sound.
mod tcp_table {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
    use windows_sys::Win32::Foundation::ERROR_INSUFFICIENT_BUFFER;
    use windows_sys::Win32::NetworkManagement::IpHelper::{
        GetExtendedTcpTable, MIB_TCP6ROW_OWNER_PID, MIB_TCPROW_OWNER_PID, TCP_TABLE_OWNER_PID_ALL,
    };
    use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6};

    /// The table's rows for one address family, as raw bytes after the row count.
    fn table(family: u16) -> Option<(Vec<u64>, usize)> {
        let mut size = 0u32;
        let mut buf: Vec<u64> = Vec::new();
        for _ in 0..4 {
            // SAFETY: `buf` holds `size` bytes (u64s for alignment); the call writes at most that.
            let status = unsafe {
                GetExtendedTcpTable(
                    buf.as_mut_ptr().cast(),
                    &mut size,
                    0,
                    u32::from(family),
                    TCP_TABLE_OWNER_PID_ALL,
                    0,
                )
            };
            match status {
                0 => {
                    // SAFETY: a successful call wrote the count at the start.
                    let n = unsafe { *(buf.as_ptr() as *const u32) } as usize;
                    return Some((buf, n));
                }
                ERROR_INSUFFICIENT_BUFFER => buf = vec![0u64; (size as usize).div_ceil(8) + 1],
                _ => return None,
            }
        }
        None
    }

    fn port(raw: u32) -> u16 {
        u16::from_be(raw as u16)
    }

    /// One row of the table: the local end, the remote end, the owning process.
    type Row = (SocketAddr, SocketAddr, u32);

    /// Both families' rows, read whole.
    fn scan() -> Vec<Row> {
        let mut out = Vec::new();
        if let Some((buf, n)) = table(AF_INET) {
            // SAFETY: the rows follow the u32 count, 4-byte aligned, `n` of them.
            let rows = unsafe {
                std::slice::from_raw_parts(
                    (buf.as_ptr() as *const u32).add(1) as *const MIB_TCPROW_OWNER_PID,
                    n,
                )
            };
            out.extend(rows.iter().map(|r| {
                (
                    SocketAddr::new(
                        IpAddr::V4(Ipv4Addr::from(r.dwLocalAddr.to_ne_bytes())),
                        port(r.dwLocalPort),
                    ),
                    SocketAddr::new(
                        IpAddr::V4(Ipv4Addr::from(r.dwRemoteAddr.to_ne_bytes())),
                        port(r.dwRemotePort),
                    ),
                    r.dwOwningPid,
                )
            }));
        }
        if let Some((buf, n)) = table(AF_INET6) {
            // SAFETY: as above, for the IPv6 rows.
            let rows = unsafe {
                std::slice::from_raw_parts(
                    (buf.as_ptr() as *const u32).add(1) as *const MIB_TCP6ROW_OWNER_PID,
                    n,
                )
            };
            out.extend(rows.iter().map(|r| {
                (
                    SocketAddr::new(
                        IpAddr::V6(Ipv6Addr::from(r.ucLocalAddr)),
                        port(r.dwLocalPort),
                    ),
                    SocketAddr::new(
                        IpAddr::V6(Ipv6Addr::from(r.ucRemoteAddr)),
                        port(r.dwRemotePort),
                    ),
                    r.dwOwningPid,
                )
            }));
        }
        out
    }

    /// The table scans, shared by the look-ups asked before each started.
    static SCANS: std::sync::LazyLock<super::SharedScans<Vec<Row>>> =
        std::sync::LazyLock::new(Default::default);

    /// The process owning the connection from `client` to `server`, from a table read at or
    /// after `asked`.
    pub(super) fn owning_process(
        client: SocketAddr,
        server: SocketAddr,
        asked: std::time::Instant,
    ) -> Option<u32> {
        SCANS
            .since(asked, scan)
            .iter()
            .find(|(local, remote, _)| *local == client && *remote == server)
            .map(|(_, _, pid)| *pid)
            .filter(|pid| *pid != 0)
    }
}

/// macOS: the user's processes and their sockets, read through libproc (`<sys/proc_info.h>`).
/// The `libc` crate declares the calls and `proc_fdinfo`; the socket records it lacks are
/// declared here, field for field from the header, and their sizes are checked against the
/// header's at compile time (the macOS type-check in `scripts/cross` evaluates them).
#[cfg(target_os = "macos")]
#[allow(unsafe_code)] // libproc calls: each block says why it is sound.
mod libproc {
    use std::mem::size_of;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

    /// `proc_listpids` type: processes whose effective uid is the given one (`<libproc.h>`).
    const PROC_UID_ONLY: u32 = 4;
    /// `proc_pidfdinfo` flavor answering a `socket_fdinfo`.
    const PROC_PIDFDSOCKETINFO: libc::c_int = 3;
    /// `soi_kind` of a TCP socket: `soi_proto` holds a `tcp_sockinfo`.
    const SOCKINFO_TCP: libc::c_int = 2;
    /// `insi_vflag` bit: the addresses are IPv4 (in `i46a_addr4`).
    const INI_IPV4: u8 = 0x1;

    #[allow(dead_code)] // the header's layout: only some fields are read
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct ProcFileinfo {
        fi_openflags: u32,
        fi_status: u32,
        fi_offset: i64,
        fi_type: i32,
        fi_guardflags: u32,
    }

    #[allow(dead_code)] // the header's layout: only some fields are read
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct SockbufInfo {
        sbi_cc: u32,
        sbi_hiwat: u32,
        sbi_mbcnt: u32,
        sbi_mbmax: u32,
        sbi_lowat: u32,
        sbi_flags: i16,
        sbi_timeo: i16,
    }

    /// `union { struct in4in6_addr ina_46; struct in6_addr ina_6; }`: 16 bytes, the IPv4
    /// address in the last four.
    type InAddr46 = [u8; 16];

    #[allow(dead_code)] // the header's layout: only some fields are read
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct InSockinfo {
        insi_fport: libc::c_int,
        insi_lport: libc::c_int,
        insi_gencnt: u64,
        insi_flags: u32,
        insi_flow: u32,
        insi_vflag: u8,
        insi_ip_ttl: u8,
        rfu_1: u32,
        insi_faddr: InAddr46,
        insi_laddr: InAddr46,
        insi_v4_tos: u8,
        insi_v6: InV6,
    }

    #[allow(dead_code)] // the header's layout: only some fields are read
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct InV6 {
        in6_hlim: u8,
        in6_cksum: libc::c_int,
        in6_ifindex: u16,
        in6_hops: i16,
    }

    #[allow(dead_code)] // the header's layout: only some fields are read
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct TcpSockinfo {
        tcpsi_ini: InSockinfo,
        tcpsi_state: libc::c_int,
        tcpsi_timer: [libc::c_int; 4],
        tcpsi_mss: libc::c_int,
        tcpsi_flags: u32,
        rfu_1: u32,
        tcpsi_tp: u64,
    }

    #[allow(dead_code)] // the header's layout: only some fields are read
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct SocketInfo {
        soi_stat: libc::vinfo_stat,
        soi_so: u64,
        soi_pcb: u64,
        soi_type: libc::c_int,
        soi_protocol: libc::c_int,
        soi_family: libc::c_int,
        soi_options: i16,
        soi_linger: i16,
        soi_state: i16,
        soi_qlen: i16,
        soi_incqlen: i16,
        soi_qlimit: i16,
        soi_timeo: i16,
        soi_error: u16,
        soi_oobmark: u32,
        soi_rcv: SockbufInfo,
        soi_snd: SockbufInfo,
        soi_kind: libc::c_int,
        rfu_1: u32,
        /// The `soi_proto` union; its largest member, `un_sockinfo`, makes it 528 bytes.
        soi_proto: [u64; 66],
    }

    #[allow(dead_code)] // the header's layout: only some fields are read
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct SocketFdinfo {
        pfi: ProcFileinfo,
        psi: SocketInfo,
    }

    // The header's sizes (bsd/sys/proc_info.h, as lsof and others read them).
    const _: () = assert!(size_of::<ProcFileinfo>() == 24);
    const _: () = assert!(size_of::<libc::vinfo_stat>() == 136);
    const _: () = assert!(size_of::<InSockinfo>() == 80);
    const _: () = assert!(size_of::<TcpSockinfo>() == 120);
    const _: () = assert!(size_of::<SocketInfo>() == 768);
    const _: () = assert!(size_of::<SocketFdinfo>() == 792);
    const _: () = assert!(std::mem::offset_of!(SocketInfo, soi_kind) == 232);
    const _: () = assert!(std::mem::offset_of!(InSockinfo, insi_faddr) == 32);

    /// The processes of `uid` (their pids); empty when libproc will not say.
    fn pids_of(uid: u32) -> Vec<libc::c_int> {
        let mut pids: Vec<libc::c_int> = Vec::new();
        for _ in 0..4 {
            // SAFETY: a null buffer of size 0 asks only for the size needed.
            let needed =
                unsafe { libc::proc_listpids(PROC_UID_ONLY, uid, std::ptr::null_mut(), 0) };
            if needed <= 0 {
                return Vec::new();
            }
            // Room for processes started since.
            let room = needed as usize / size_of::<libc::c_int>() + 64;
            pids.resize(room, 0);
            let bytes = (room * size_of::<libc::c_int>()) as libc::c_int;
            // SAFETY: `pids` holds `bytes` bytes; the call writes at most that many.
            let got =
                unsafe { libc::proc_listpids(PROC_UID_ONLY, uid, pids.as_mut_ptr().cast(), bytes) };
            if got <= 0 {
                return Vec::new();
            }
            if got < bytes {
                pids.truncate(got as usize / size_of::<libc::c_int>());
                pids.retain(|&pid| pid > 0);
                return pids;
            }
        }
        pids
    }

    /// The open files of `pid`; empty when it has gone or cannot be looked into.
    fn fds_of(pid: libc::c_int) -> Vec<libc::proc_fdinfo> {
        let one = size_of::<libc::proc_fdinfo>();
        // SAFETY: a null buffer of size 0 asks only for the size needed.
        let needed =
            unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDLISTFDS, 0, std::ptr::null_mut(), 0) };
        if needed <= 0 {
            return Vec::new();
        }
        let room = needed as usize / one + 16;
        let mut fds = vec![
            libc::proc_fdinfo {
                proc_fd: 0,
                proc_fdtype: 0
            };
            room
        ];
        // SAFETY: `fds` holds `room` records; the call writes at most that many bytes.
        let got = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDLISTFDS,
                0,
                fds.as_mut_ptr().cast(),
                (room * one) as libc::c_int,
            )
        };
        fds.truncate(got.max(0) as usize / one);
        fds
    }

    /// The TCP record of socket `fd` of `pid`, if it is one.
    fn tcp_of(pid: libc::c_int, fd: libc::c_int) -> Option<TcpSockinfo> {
        // SAFETY: every field is an integer or an array of them, so all zeroes is a value.
        let mut info: SocketFdinfo = unsafe { std::mem::zeroed() };
        let size = size_of::<SocketFdinfo>() as libc::c_int;
        // SAFETY: `info` is `size` bytes; the call writes at most that many.
        let got = unsafe {
            libc::proc_pidfdinfo(
                pid,
                fd,
                PROC_PIDFDSOCKETINFO,
                (&mut info as *mut SocketFdinfo).cast(),
                size,
            )
        };
        if got != size || info.psi.soi_kind != SOCKINFO_TCP {
            return None;
        }
        // SAFETY: soi_kind says the union holds a tcp_sockinfo; the storage is 8-aligned and
        // larger than one.
        Some(unsafe { std::ptr::read(info.psi.soi_proto.as_ptr().cast::<TcpSockinfo>()) })
    }

    /// An address as the record keeps it; an IPv4-mapped IPv6 address is taken as IPv4, so
    /// a dual-stack socket and an IPv4 one compare alike.
    fn address(raw: &InAddr46, port: libc::c_int, ipv4: bool) -> SocketAddr {
        // The port is in network order in the low 16 bits.
        let port = u16::from_be(port as u16);
        let ip = if ipv4 {
            IpAddr::V4(Ipv4Addr::new(raw[12], raw[13], raw[14], raw[15]))
        } else {
            IpAddr::V6(Ipv6Addr::from(*raw))
        };
        super::canonical(SocketAddr::new(ip, port))
    }

    /// Every TCP connection (local end, far end) the processes of `uid` hold.
    fn connections_of(uid: u32) -> std::collections::HashSet<(SocketAddr, SocketAddr)> {
        pids_of(uid)
            .into_iter()
            .flat_map(|pid| {
                fds_of(pid)
                    .into_iter()
                    .filter(|fd| fd.proc_fdtype == libc::PROX_FDTYPE_SOCKET as u32)
                    .filter_map(move |fd| tcp_of(pid, fd.proc_fd))
                    .map(|tcp| {
                        let ini = &tcp.tcpsi_ini;
                        let ipv4 = ini.insi_vflag & INI_IPV4 != 0;
                        (
                            address(&ini.insi_laddr, ini.insi_lport, ipv4),
                            address(&ini.insi_faddr, ini.insi_fport, ipv4),
                        )
                    })
            })
            .collect()
    }

    /// The scans of the user's connections, shared by the look-ups asked before each started.
    static SCANS: std::sync::LazyLock<
        super::SharedScans<std::collections::HashSet<(SocketAddr, SocketAddr)>>,
    > = std::sync::LazyLock::new(Default::default);

    /// Whether a process of `uid` holds the TCP socket whose local end is `client` and whose far
    /// end is `server`, by a scan of its processes made at or after `asked`.
    pub(super) fn held_by_user(
        uid: u32,
        client: SocketAddr,
        server: SocketAddr,
        asked: std::time::Instant,
    ) -> bool {
        let (client, server) = (super::canonical(client), super::canonical(server));
        SCANS
            .since(asked, || connections_of(uid))
            .contains(&(client, server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_from_a_port_nobody_uses_has_no_known_owner() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let nobody: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(tcp_peer(nobody, server), Peer::Unknown);
    }

    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    #[cfg_attr(
        wine,
        ignore = "Wine 8.0's GetExtendedTcpTable reports no owning process (dwOwningPid 0), so every peer is Unknown there"
    )]
    #[test]
    fn a_loopback_connection_of_this_process_is_mine_and_a_closed_one_unknown() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(server).unwrap();
        let (accepted, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(tcp_peer(peer, server), Peer::Me);
        assert_eq!(tcp_owner(peer, server), Some(crate::platform::user::me()));
        // The same 4-tuple seen from a dual-stack socket's side.
        let mapped = |a: SocketAddr| match a.ip() {
            IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
            IpAddr::V6(_) => a,
        };
        assert_eq!(tcp_peer(mapped(peer), mapped(server)), Peer::Me);
        // The connection closed, the server's end first (so the client's end does not linger in
        // TIME_WAIT, whose records name no owner): no one's.
        drop(accepted);
        let mut client = client;
        let mut buf = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut client, &mut buf).unwrap_or(0), 0);
        drop(client);
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            tcp_peer(peer, server) == Peer::Unknown
        });
        assert!(gone, "a closed connection has no owner");
    }

    #[test]
    fn a_flood_of_look_ups_shares_its_scans_and_each_uses_one_made_after_it_was_asked() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::time::{Duration, Instant};
        let scans = Arc::new(SharedScans::<usize>::default());
        let count = Arc::new(AtomicUsize::new(0));
        // 200 connections asked for at once, each scan taking 50 ms (a big TCP table).
        let asked = Instant::now();
        let threads: Vec<_> = (0..200)
            .map(|_| {
                let (scans, count) = (scans.clone(), count.clone());
                std::thread::spawn(move || {
                    *scans.since(asked, || {
                        std::thread::sleep(Duration::from_millis(50));
                        count.fetch_add(1, Ordering::SeqCst) + 1
                    })
                })
            })
            .collect();
        let seen: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(count.load(Ordering::SeqCst), 1, "one scan answered all 200");
        assert!(seen.iter().all(|&n| n == 1));
        // A look-up asked after that scan started cannot use it: its connection may be newer.
        let later = Instant::now();
        assert_eq!(*scans.since(later, || 99), 99);
        // One asked before the last scan started uses it.
        assert_eq!(*scans.since(later, || 100), 99);
    }

    #[test]
    fn where_only_the_users_own_belong_others_are_refused_and_unnamed_ones_only_where_nothing_is_named(
    ) {
        assert_eq!(only_mine(&Peer::Me), Some(OnlyMine::Mine));
        #[cfg(unix)]
        assert_eq!(
            only_mine(&Peer::Other(UserId::from_uid(
                crate::platform::user::me().uid().wrapping_add(1)
            ))),
            None
        );
        // Linux names owners (sock_diag), so a connection it cannot name is refused; under
        // Wine nothing is named, and unnamed connections get slots of their own.
        #[cfg(target_os = "linux")]
        assert!(names_owners_here());
        assert_eq!(
            only_mine(&Peer::Unknown),
            (!names_owners_here()).then_some(OnlyMine::Unnamed)
        );
    }
}
