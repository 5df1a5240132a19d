// snappyjs ships no types. The block format (not the framed one) is what Prometheus remote
// write uses; Buffer in, Buffer out under Node.
declare module 'snappyjs' {
  export function compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(input: T, maxLength?: number): T;
}
