/** `mesh node promote NODE...`, as `docker node promote`: Promote one or more nodes to manager in the cluster (cluster/members.ts changeRoles). */
import { roleCommand } from '../role-command'

export const { SPEC, run } = roleCommand('node promote', 'manager', (name) => `Node ${name} promoted to a manager in the cluster.`)
