//! Who is on the other end of a loopback TCP connection to one of ssotray's credential servers.
//!
//! Linux: one `sock_diag` request over netlink names the exact socket (the client's end: its
//! local address and port, the server's address and port) and the kernel answers with that one
//! socket's owner. The cost does not depend on how many other sockets the machine has (reading
//! `/proc/net/tcp` did: another user's 100 000 TIME_WAIT sockets made every look-up take 0.4 s).
//! It is asked once per connection, when it is accepted.
//!
//! The design limit, said plainly: the owner of a socket is the user whose process opened it. A
//! process of the same user that forwards TCP (an SSH tunnel, `socat`, a browser's proxy) makes
//! its peers look like that user; they get what the user gets.

use crate::user::UserId;
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
/// the TCP table's owning process and its token). Where it cannot (macOS, for now), every peer
/// is [`Peer::Unknown`], and a server that must know (IMDS) is not started.
pub const CAN_TELL: bool = cfg!(any(target_os = "linux", windows));

/// The owner of the connection whose client end is `client` and whose server end is `server`.
pub fn tcp_peer(client: SocketAddr, server: SocketAddr) -> Peer {
    match tcp_owner(client, server) {
        Some(user) if user == crate::user::me() => Peer::Me,
        Some(user) => Peer::Other(user),
        None => Peer::Unknown,
    }
}

/// The user owning the TCP socket with local address `client` connected to `server`, from the
/// kernel (`None` when it cannot tell, or there is no such socket).
pub fn tcp_owner(client: SocketAddr, server: SocketAddr) -> Option<UserId> {
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
    tries.into_iter().find_map(|(c, s)| owner(c, s))
}

#[cfg(target_os = "linux")]
fn owner(client: SocketAddr, server: SocketAddr) -> Option<UserId> {
    sock_diag::owner(client, server)
        .ok()
        .flatten()
        .map(UserId::from_uid)
}

#[cfg(windows)]
fn owner(client: SocketAddr, server: SocketAddr) -> Option<UserId> {
    tcp_table::owning_process(client, server).and_then(crate::user::of_process)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn owner(_client: SocketAddr, _server: SocketAddr) -> Option<UserId> {
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

    /// One exact look-up (no dump): `Ok(None)` when the kernel knows no such socket.
    pub(super) fn owner(client: SocketAddr, server: SocketAddr) -> io::Result<Option<u32>> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            Some(SOCK_DIAG),
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
                    interface_id: 0,
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

    pub(super) fn owning_process(client: SocketAddr, server: SocketAddr) -> Option<u32> {
        match (client.ip(), server.ip()) {
            (IpAddr::V4(c), IpAddr::V4(s)) => {
                let (buf, n) = table(AF_INET)?;
                // SAFETY: the rows follow the u32 count, 4-byte aligned, `n` of them.
                let rows = unsafe {
                    std::slice::from_raw_parts(
                        (buf.as_ptr() as *const u32).add(1) as *const MIB_TCPROW_OWNER_PID,
                        n,
                    )
                };
                rows.iter()
                    .find(|r| {
                        Ipv4Addr::from(r.dwLocalAddr.to_ne_bytes()) == c
                            && port(r.dwLocalPort) == client.port()
                            && Ipv4Addr::from(r.dwRemoteAddr.to_ne_bytes()) == s
                            && port(r.dwRemotePort) == server.port()
                    })
                    .map(|r| r.dwOwningPid)
            }
            (IpAddr::V6(c), IpAddr::V6(s)) => {
                let (buf, n) = table(AF_INET6)?;
                // SAFETY: as above, for the IPv6 rows.
                let rows = unsafe {
                    std::slice::from_raw_parts(
                        (buf.as_ptr() as *const u32).add(1) as *const MIB_TCP6ROW_OWNER_PID,
                        n,
                    )
                };
                rows.iter()
                    .find(|r| {
                        Ipv6Addr::from(r.ucLocalAddr) == c
                            && port(r.dwLocalPort) == client.port()
                            && Ipv6Addr::from(r.ucRemoteAddr) == s
                            && port(r.dwRemotePort) == server.port()
                    })
                    .map(|r| r.dwOwningPid)
            }
            _ => None,
        }
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

    #[cfg(any(target_os = "linux", windows))]
    #[cfg_attr(
        wine,
        ignore = "Wine 8.0's GetExtendedTcpTable reports no owning process (dwOwningPid 0), so every peer is Unknown there"
    )]
    #[test]
    fn a_loopback_connection_of_this_process_is_mine_and_a_closed_one_unknown() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(server).unwrap();
        let (_accepted, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        assert_eq!(tcp_peer(peer, server), Peer::Me);
        assert_eq!(tcp_owner(peer, server), Some(crate::user::me()));
        // The same 4-tuple seen from a dual-stack socket's side.
        let mapped = |a: SocketAddr| match a.ip() {
            IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
            IpAddr::V6(_) => a,
        };
        assert_eq!(tcp_peer(mapped(peer), mapped(server)), Peer::Me);
        // A port nobody uses: no such socket.
        let nobody: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(tcp_peer(nobody, server), Peer::Unknown);
    }
}
