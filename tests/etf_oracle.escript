#!/usr/bin/env escript
%% etf_oracle.escript IN OUT - the Erlang runtime as the reference for
%% libdgw's ETF codec (tests/test_etf.c writes IN and reads OUT).
%%
%% IN holds Erlang terms, one per line (file:consult/1):
%%   {dec, Id, Term}            write Term as term_to_binary makes it, with
%%                              each option set below, for libdgw to decode
%%   {roundtrip, Id, Bytes}     Bytes is libdgw's encoding of a command:
%%                              binary_to_term it, then as {dec, Id, Term}
%%   {enc, Id, Bytes, Expected} Bytes is libdgw's encoding of a JSON value;
%%                              check that binary_to_term reads it (also in
%%                              safe mode) as exactly Expected, the term
%%                              built from the same value
%% OUT gets one line per result:
%%   D Id Variant HEX
%%   E Id ok|mismatch|badarg SameBytes  (SameBytes: 1 when Bytes is also
%%                              byte for byte term_to_binary(Expected,
%%                              [{minor_version, 1}]))
-mode(compile).

main([In, Out]) ->
    {ok, Items} = file:consult(In),
    {ok, F} = file:open(Out, [write, binary, delayed_write]),
    lists:foreach(fun(I) -> ok = file:write(F, item(I)) end, Items),
    ok = file:close(F);
main(_) ->
    io:format(standard_error, "usage: etf_oracle.escript IN OUT~n", []),
    halt(2).

variants() ->
    [{default, []},
     {v0, [{minor_version, 0}]},  % FLOAT_EXT text floats
     {v1, [{minor_version, 1}]},
     {v2, [{minor_version, 2}]},  % UTF-8 atoms only
     {z, [compressed]},           % tag 80 when it pays
     {z9v2, [{compressed, 9}, {minor_version, 2}]}].

item({dec, Id, Term}) ->
    [[<<"D ">>, integer_to_binary(Id), $\s, atom_to_binary(Name), $\s,
      binary:encode_hex(term_to_binary(Term, Opts)), $\n]
     || {Name, Opts} <- variants()];
item({roundtrip, Id, Bytes}) ->
    item({dec, Id, binary_to_term(Bytes, [safe])});
item({enc, Id, Bytes, Expected}) ->
    Status = try {binary_to_term(Bytes), binary_to_term(Bytes, [safe])} of
                 {Expected, Expected} -> <<"ok">>;
                 _ -> <<"mismatch">>
             catch
                 error:badarg -> <<"badarg">>
             end,
    Same = case Bytes =:= term_to_binary(Expected, [{minor_version, 1}]) of
               true -> <<"1">>;
               false -> <<"0">>
           end,
    [<<"E ">>, integer_to_binary(Id), $\s, Status, $\s, Same, $\n].
