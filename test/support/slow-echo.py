# An ICMP echo responder for a test host in a network namespace (test/support/netns.ts) that
# answers each echo request after a fixed delay: a slow path without netem, which this
# machine's kernel does not have. The namespace's own kernel replies are turned off
# (net.ipv4.icmp_echo_ignore_all=1) by the test. Usage: python3 slow-echo.py DELAY_SECONDS
import socket
import struct
import sys
import threading

delay = float(sys.argv[1])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)


def checksum(b: bytes) -> int:
    if len(b) % 2:
        b += b'\0'
    total = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


print('ready', flush=True)
while True:
    packet, (source, _) = sock.recvfrom(65535)
    icmp = bytearray(packet[(packet[0] & 0x0F) * 4:])
    if len(icmp) < 8 or icmp[0] != 8:  # echo requests only (our own replies come back here too)
        continue
    icmp[0] = 0
    icmp[2:4] = b'\0\0'
    icmp[2:4] = struct.pack('!H', checksum(bytes(icmp)))
    threading.Timer(delay, sock.sendto, (bytes(icmp), (source, 0))).start()
