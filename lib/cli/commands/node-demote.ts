/** `mesh node demote NODE...`, as `docker node demote`: Demote one or more nodes from manager in the cluster (cluster/members.ts changeRoles). */
import { roleCommand } from '../role-command'

export const { SPEC, run } = roleCommand('node demote', 'worker', (name) => `Manager ${name} demoted in the cluster.`)
