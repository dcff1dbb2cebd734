// The README's example: text in, vectors out, top-k over a catalogue with an exclusion filter.
// usage: consumer MODEL_FILE
#include <embedrank/embedrank.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  try {
    auto embedder = embedrank::model::Embedder::open(argv[1]);
    embedrank::model::EmbedderWorkspace ws(/*threads=*/2);
    embedrank::MatrixF products = embedder->embed({"red summer dress", "USB-C 65W charger"}, ws);
    embedrank::rank::EmbeddingIndex index(/*dim=*/static_cast<std::size_t>(products.cols()));
    index.add_rows({"P1", "P2"}, products);
    const embedrank::rank::ItemBitmap bought = index.exclusion({"P2"});
    embedrank::rank::SearchFilter not_bought;
    not_bought.exclude = &bought;
    auto best = index.search(embedder->embed_one("a dress for the beach", ws), /*k=*/10, not_bought);
    if (best.size() != 1 || best[0].id != "P1") return 1;
    std::printf("%s %.4f\n", best[0].id.c_str(), static_cast<double>(best[0].score));
    return 0;
  } catch (const embedrank::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
