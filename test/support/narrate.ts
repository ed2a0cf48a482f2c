/**
 * What a test measured, for a person watching (fault reports, failover tables, fuzz outcomes): on
 * stderr only with DEBUG set, so `npm test` prints only its verdicts. The figures also go to
 * test-output/, where they are kept either way.
 */
export function narrate(text: string): void {
  if (process.env['DEBUG']) process.stderr.write(text);
}
