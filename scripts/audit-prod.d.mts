export interface AuditFinding {
  id: string;
  package: string;
  severity: 'high' | 'critical';
  title?: string;
  range?: string;
}
export declare function explainedAdvisories(markdown: string): Set<string>;
export declare function seriousFindings(report: unknown): AuditFinding[];
export declare function runAudit(): { reachable: true; report: unknown } | { reachable: false; reason: string };
