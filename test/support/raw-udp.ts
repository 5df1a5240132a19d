// Datagrams Node's dgram cannot send: from source port 0 (which bind(0) never gives). A raw
// socket (root, CAP_NET_RAW) through the system python3, to 127.0.0.1 only; the kernel
// writes the IP header, the script the UDP header (checksum 0: "none" in IPv4, RFC 768).
import { execFileSync } from 'node:child_process';

const SCRIPT = `
import socket, struct, sys
dport, sport, payload = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload, ('127.0.0.1', 0))
`;

export function sendRawUdp(dstPort: number, srcPort: number, payload: Buffer): void {
  execFileSync('python3', ['-c', SCRIPT, String(dstPort), String(srcPort), payload.toString('hex')], { stdio: 'pipe' });
}
