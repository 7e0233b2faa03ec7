import { ipKeyGenerator } from 'express-rate-limit';

/** Who asked, as the per-IP limiters count clients (an IPv6 client by its /56): the key of its `/forgot` share. */
export function clientKey(ip: string | undefined): string {
  return ip === undefined ? '' : ipKeyGenerator(ip);
}
