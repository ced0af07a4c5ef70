//! Scoring a full paper: every question of the real ZNO test answered rightly (the
//! longest path through the scorer), as results and exports do for every participant.

use benches::paper::{exam_paper, right_answers};
use engine::scoring::score_paper;

fn main() {
    divan::main();
}

#[divan::bench]
fn score_a_full_paper(bencher: divan::Bencher) {
    let paper = exam_paper();
    let answers = right_answers(&paper);
    bencher
        .counter(divan::counter::ItemsCount::new(paper.questions.len()))
        .bench(|| score_paper(divan::black_box(&paper), divan::black_box(&answers)));
}
