/**
 * @sess/conformance: the suite that defines what a session store must do. Run it from jest
 * (`@sess/conformance/jest`), from the `sess-conformance` CLI, or from code with `runConformance`.
 */
export { cases } from './cases.js';
export { bindingCases, runBindingCase, bindingSkipReason } from './bindings.js';
export type { BindingApp, BindingFactory, BindingCapabilities, BindingCase, BindingCaseContext, BindingCaseResult } from './bindings.js';
export { runConformance, runCase, listCases, summarise, counts, skipReason } from './runner.js';
export { report, junit, markdown, json, textLine, levelLines, REPORTERS } from './reporters.js';
export type { ReporterName } from './reporters.js';
export { init, factoryModule } from './init.js';
export { HungOperationError, newNamespace } from './harness.js';
export { main as cli } from './cli.js';
export type { CaseContext, CaseResult, ConformanceCase, CreateStore, FactoryContext, Level, Need, RunOptions, StoreFactory } from './types.js';
