"""Getting it out: the dispatcher's pass, the claim, send and record of a publication,
reconciliation, posting budgets, pauses, leadership and the job transport."""
