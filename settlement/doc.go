// Package settlement is the pure settlement policy engine: under the insured
// region's policy (参保地政策) and the treatment region's catalogue (就医地目录),
// it computes what the basic pooled fund (统筹), the employee personal
// account and the patient's cash pay for one visit (DOMAIN §5).
//
// A PolicySet holds the policies of every insured region, loaded from YAML
// (LoadPolicies; format in README.md) or the embedded defaults
// (DefaultPolicies). Settle decomposes a Claim into the national platform's
// terms (全自费, 超限价, 先行自付, 符合政策范围, 起付线, 统筹, 个人账户, 现金)
// with Steps that explain each term in Chinese for quotes and case files;
// SettleQuick returns the same numbers without Steps and without allocating,
// for recomputing whole batches.
//
// All money is integer fen (contract.Fen) and every share 1/10,000; each
// product of an amount and a share is rounded to the fen by the region's
// rounding rule (half_up, half_even or down). Total = Fund + Account + Cash
// holds exactly for every claim.
//
// The catalogue side (class A/B/C, the class B self-pay share, the price
// ceiling) arrives on each Line; the policy side (deductible, ratio bands,
// retiree bonus, registration reductions, annual cap, account rules) comes
// from the PolicySet, looked up by the exact insured region, then its city
// (NNMM00), then its province (NN0000).
//
// CoversStay decides whether a cross-region registration (备案) covers a
// stay, as the no_registration check needs.
//
// The package imports only the standard library, go-yaml and contract: no
// DuckDB, Arrow or Gin, so it is table-testable in microseconds.
package settlement
