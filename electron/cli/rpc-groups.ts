/** The group methods of `rpc` (same names and results as the CLI's group commands, see commands/groups.ts). */
import { z } from 'zod';
import { parseGroupRef } from '../core/messenger/groups.js';
import type { ParleyService } from '../core/service.js';

type Parse = <T extends z.ZodTypeAny>(schema: T, params: unknown) => z.infer<T>;
type Method = (svc: ParleyService, params: unknown, o: { timeoutMs: number }) => Promise<unknown>;

const ref = z.string().min(1).max(70);
const users = z.array(z.string().min(1).max(64)).min(1).max(256);

export function groupMethods(parse: Parse): Record<string, Method> {
  const online = (svc: ParleyService, o: { timeoutMs: number }) => svc.waitOnline(o.timeoutMs).catch(() => undefined);
  return {
    'group-create': async (svc, p, o) => {
      const { name, members } = parse(z.object({ name: z.string().min(1).max(64), members: users }).strict(), p);
      await online(svc, o);
      return (await svc.groups()).create(name, members);
    },
    'group-add': async (svc, p, o) => {
      const { group, members } = parse(z.object({ group: ref, members: users }).strict(), p);
      await online(svc, o);
      return (await svc.groups()).add(parseGroupRef(group), members);
    },
    'group-remove': async (svc, p, o) => {
      const { group, members } = parse(z.object({ group: ref, members: users }).strict(), p);
      await online(svc, o);
      return (await svc.groups()).remove(parseGroupRef(group), members);
    },
    'group-admin': async (svc, p, o) => {
      const { group, members } = parse(z.object({ group: ref, members: users }).strict(), p);
      await online(svc, o);
      return (await svc.groups()).makeAdmin(parseGroupRef(group), members);
    },
    'group-leave': async (svc, p, o) => {
      const { group } = parse(z.object({ group: ref }).strict(), p);
      await online(svc, o);
      return (await svc.groups()).leave(parseGroupRef(group));
    },
    'group-info': async (svc, p) => (await svc.groups()).info(parseGroupRef(parse(z.object({ group: ref }).strict(), p).group)),
    groups: async (svc, p) => (parse(z.object({}).strict(), p), (await svc.groups()).list()),
  };
}
