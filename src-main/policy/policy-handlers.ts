import type { policyContract } from '../../src-shared/contracts/policy';
import type { DomainHandlers } from '../ipc/registry';
import type { MachinePolicyState } from './machine-policy';

/** The renderer reads the policy in force (to hide export, disabled tasks, show the lock message). */
export function createPolicyHandlers(policy: MachinePolicyState): DomainHandlers<typeof policyContract> {
  return {
    get() {
      return policy.status();
    },
  };
}
