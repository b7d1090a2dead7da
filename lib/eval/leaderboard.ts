/**
 * The Kaggle "Galaxy Zoo - The Galaxy Challenge" (2014) private leaderboard, as sourced (rank,
 * RMSE) pairs, and where a score would fall among them. Quoted, not measured: the report says so,
 * and that a split of the training set is not Kaggle's test set.
 *
 * @module
 */

export const LEADERBOARD_TEAMS = 326;

/** Labelled training galaxies in the Kaggle download (the leaderboard models trained on all of them). */
export const KAGGLE_TRAINING_GALAXIES = 61578;

/** Sourced private-leaderboard entries: rank, team, RMSE. */
export const LEADERBOARD: readonly {
  rank: number;
  team: string;
  rmse: number;
}[] = [
  { rank: 1, team: "sedielem", rmse: 0.07491 },
  { rank: 2, team: "Maxim Milakov", rmse: 0.07752 },
  { rank: 3, team: "6789", rmse: 0.07869 },
  { rank: 4, team: "simon", rmse: 0.07951 },
  { rank: 5, team: "Julian de Wit", rmse: 0.07952 },
  { rank: 60, team: "(60th place)", rmse: 0.10494 },
  { rank: 145, team: "(145th place)", rmse: 0.12859 },
];

/** The course's quoted RMSE of the central-pixel benchmark on Kaggle's test set. */
export const QUOTED_CENTRAL_PIXEL_RMSE = 0.16194;

export interface Placement {
  /** Best rank the score could have (it beats every entry ranked below this). */
  bestRank: number;
  /** Worst rank it could have; equal to bestRank when the position is exact. */
  worstRank: number;
  text: string;
}

/**
 * Where an RMSE would place: among the known entries the position is a range of ranks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { placeOnLeaderboard } from "./leaderboard.ts";
 * assert.equal(placeOnLeaderboard(0.07).bestRank, 1);
 * assert.deepEqual([placeOnLeaderboard(0.11).bestRank, placeOnLeaderboard(0.11).worstRank], [61, 145]);
 * ```
 */
export function placeOnLeaderboard(rmse: number): Placement {
  const better = LEADERBOARD.filter((e) => e.rmse < rmse);
  const worse = LEADERBOARD.filter((e) => e.rmse >= rmse);
  const bestRank = better.length ? Math.max(...better.map((e) => e.rank)) + 1 : 1;
  const worstRank = worse.length ? Math.min(...worse.map((e) => e.rank)) : LEADERBOARD_TEAMS + 1;
  const text = bestRank === worstRank
    ? `rank ${bestRank} of ${LEADERBOARD_TEAMS}`
    : worstRank > LEADERBOARD_TEAMS
    ? `below rank ${bestRank - 1} of ${LEADERBOARD_TEAMS} (somewhere from ${bestRank} to last)`
    : `between rank ${bestRank} and ${worstRank} of ${LEADERBOARD_TEAMS}`;
  return { bestRank, worstRank, text };
}
