"""The strace reader behind the browser leak tests, on lines as strace 6 writes them
(-f -xx -yy): what counts as a datagram leaving, and what only looks like one."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawler.browser_probes import STRACE, SyscallRecorder

pytestmark = pytest.mark.skipif(not STRACE, reason="strace not installed (apt-get install strace)")


def _hex(text: str) -> str:
    return "".join(f"\\x{b:02x}" for b in text.encode())


def _v6(port: int, host: str) -> str:
    return (f'{{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl(0), '
            f'inet_pton(AF_INET6, "{_hex(host)}", &sin6_addr), sin6_scope_id=0}}, 28')


def _v4(port: int, host: str) -> str:
    return f'{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("{_hex(host)}")}}, 16'


def _read(tmp_path: Path, lines: list[str]) -> list[str]:
    recorder = SyscallRecorder(tmp_path, "/bin/true")
    recorder.log.write_text("\n".join(lines) + "\n")
    return recorder.read().leaks(9050)


def test_a_probe_socket_number_reused_by_ipc_is_not_a_datagram(tmp_path: Path) -> None:
    """Seen in CI: Chromium's IPv6 reachability probe (a UDP connect, which sends nothing),
    then fd 20 again as a Mojo socketpair; its messages were counted as datagrams to
    2001:4860:4860::8888:443."""
    assert _read(tmp_path, [
        "13472 socket(AF_INET6, SOCK_DGRAM, IPPROTO_IP) = 20<UDPv6:[2167667]>",
        f"13472 connect(20<UDPv6:[2167667]>, {_v6(443, '2001:4860:4860::8888')}) = 0",
        '13472 sendto(20<UNIX-STREAM:[2167668->2167669]>, "\\x10\\x00\\x00\\x00", 4, MSG_NOSIGNAL, NULL, 0) = 4',
    ]) == []


@pytest.mark.parametrize("annotation", ["UDPv6:[[fd00::2]:45163->[2001:4860:4860::8888]:443]", "UDPv6:[2167667]", ""],
                         ids=["peer in the annotation", "no peer (other namespace)", "no annotation"])
def test_a_send_on_a_connected_udp_socket_goes_to_its_peer(tmp_path: Path, annotation: str) -> None:
    fd = f"20<{annotation}>" if annotation else "20"
    assert _read(tmp_path, [
        "13472 socket(AF_INET6, SOCK_DGRAM, IPPROTO_IP) = 20<UDPv6:[2167667]>",
        f"13472 connect(20<UDPv6:[2167667]>, {_v6(443, '2001:4860:4860::8888')}) = 0",
        f'13472 sendto({fd}, "\\x78", 1, 0, NULL, 0) = 1',
    ]) == ["sendto 2001:4860:4860::8888:443"]


def test_explicit_addresses_and_the_proxy(tmp_path: Path) -> None:
    assert _read(tmp_path, [
        "7 socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 22<TCP:[1]>",
        f"7 connect(22<TCP:[1]>, {_v4(9050, '127.0.0.1')}) = -1 EINPROGRESS (Operation now in progress)",
        '7 sendto(22<TCP:[127.0.0.1:5000->127.0.0.1:9050]>, "\\x05\\x01\\x00", 3, MSG_NOSIGNAL, NULL, 0) = 3',
        "8 socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 23<UDP:[2]>",
        f'8 sendto(23<UDP:[2]>, "\\x00\\x01", 2, 0, {_v4(3478, "127.0.0.1")}) = 2',
        f"9 connect(24<TCP:[3]>, {_v4(8080, '127.0.0.1')}) = 0",
    ]) == ["sendto 127.0.0.1:3478", "connect 127.0.0.1:8080"]


def _dns_query(name: str) -> str:
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return "".join(f"\\x{b:02x}" for b in b"\x8f\xe4\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x00\x01\x00\x01")


def test_a_sendmmsg_another_thread_interrupted_is_read_whole(tmp_path: Path) -> None:
    """Seen in CI: glibc's resolver sent the onion name's A and AAAA questions in one sendmmsg
    that strace wrote in two lines (its payload only in the resumed one), so the DNS question
    was not read although the datagram to port 53 was."""
    name = "hx37gzv7ca3hy336ypb5tn4zsgl5rv65tedjksgkcp3ttsjs7dqfmkad.onion"
    recorder = SyscallRecorder(tmp_path, "/bin/true")
    message = (f'{{msg_hdr={{msg_name=NULL, msg_namelen=0, msg_iov=[{{iov_base="{_dns_query(name)}", iov_len=80}}], '
               'msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=80}')
    recorder.log.write_text("\n".join([
        "5351  sendmmsg(115<UDP:[192.0.2.2:53013->10.255.255.53:53]>,  <unfinished ...>",
        '5413  sendto(13<UNIX-STREAM:[2781911->2781910]>, "\\x10\\x00", 2, MSG_NOSIGNAL, NULL, 0 <unfinished ...>',
        "5383  <... sendto resumed>)             = 112",
        f"5351  <... sendmmsg resumed>[{message}, {message}], 2, MSG_NOSIGNAL) = 2",
        "5413  <... sendto resumed>)             = 2",
    ]) + "\n")
    log = recorder.read()
    assert log.dns_names == [name, name]
    assert log.leaks(9050) == ["sendmmsg 10.255.255.53:53", f"dns {name}", f"dns {name}"]


def test_a_socket_call_another_thread_interrupted_still_makes_a_udp_socket(tmp_path: Path) -> None:
    """socket()'s fd comes in the resumed line; a connect, then a send without a peer in its
    annotation, goes to the connected address (and the other thread's send stays its own)."""
    assert _read(tmp_path, [
        "13472 socket(AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC, IPPROTO_IP <unfinished ...>",
        '13473 sendto(20<UNIX-STREAM:[1->2]>, "\\x00", 1, MSG_NOSIGNAL, NULL, 0) = 1',
        "13472 <... socket resumed>)             = 20<UDPv6:[2167667]>",
        f"13472 connect(20<UDPv6:[2167667]>, {_v6(443, '2001:4860:4860::8888')}) = 0",
        '13472 sendto(20<UDPv6:[2167667]>, "\\x78", 1, 0, NULL, 0) = 1',
    ]) == ["sendto 2001:4860:4860::8888:443"]
