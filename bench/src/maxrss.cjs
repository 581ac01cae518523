// Preloaded into a measured process (node --require): writes its peak RSS (bytes) to SESS_BENCH_MAXRSS_FILE on exit.
const fs = require('node:fs');
process.on('exit', () => {
  if (process.env.SESS_BENCH_MAXRSS_FILE) fs.writeFileSync(process.env.SESS_BENCH_MAXRSS_FILE, String(process.resourceUsage().maxRSS * 1024));
});
