# Sourced by demo.sh and serve.sh. `choose_model "$@"` takes an optional
# first "--model NAME" (a model get_model.sh knows; default
# multilingual-e5-small: Chinese, English and across them, imported as int8,
# which holds its 4-bit weights exactly; all-MiniLM-L6-v2 as f32), sets
# model, dtype and model_args (how many arguments it took, to shift), and
# gets the model into models/$model.$dtype.bin.
choose_model() {
  model=multilingual-e5-small
  model_args=0
  if [ "${1:-}" = --model ]; then
    model=${2:?--model needs a name: all-MiniLM-L6-v2, all-mpnet-base-v2 or multilingual-e5-small}
    model_args=2
  fi
  dtype=f32
  [ "$model" = multilingual-e5-small ] && dtype=int8
  EMBEDRANK_MODEL_DTYPES=$dtype ./scripts/get_model.sh "$model"
}
